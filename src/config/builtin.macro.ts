// A Bun macro (imported `with { type: "macro" }`): runs when the program is built or transpiled,
// and its result is written into the code as a literal. It parses the built-in config with the
// same YAML library and options as a user's config (shared/yaml.ts), so that no command parses the
// built-in YAML at run time.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseYamlSource } from "../shared/yaml.ts";

export function builtinConfig(): unknown {
  return parseYamlSource(readFileSync(join(import.meta.dir, "..", "..", "config", "pkg.yaml"), "utf8"), "<built-in>").data;
}
