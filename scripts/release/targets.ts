/**
 * The build matrix: one JSON file per target in dist-targets/, validated with TargetSchema.
 * Nothing about a target is known to the build except what its file says.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import * as v from "valibot";
import { TargetSchema, type Target } from "../../src/schema/release.ts";
import { configError, usageError } from "../../src/shared/errors.ts";

/** Every target file in `dir`, sorted by name. */
export function loadTargets(dir: string): Target[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  } catch {
    throw configError(`cannot read the target directory ${dir}`);
  }
  if (files.length === 0) throw configError(`${dir}: no target files (*.json)`);
  return files.map((f) => parseTargetFile(join(dir, f)));
}

export function parseTargetFile(path: string): Target {
  const where = relative(process.cwd(), path) || path;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw configError(`${where}: not valid JSON (${(err as Error).message.split("\n")[0]})`);
  }
  const parsed = v.safeParse(TargetSchema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const key = v.getDotPath(issue);
    const missing = issue.received === "undefined" && key;
    throw configError(`${where}: ${missing ? `missing field "${key}"` : `${key ? `field "${key}": ` : ""}${issue.message}`}`);
  }
  const expected = path.split("/").pop()!.replace(/\.json$/, "");
  if (parsed.output.name !== expected) {
    throw configError(`${where}: name "${parsed.output.name}" does not match the file name (expected "${expected}")`);
  }
  return parsed.output;
}

/** The targets named on the command line (all of them when none is named), in matrix order. */
export function selectTargets(all: Target[], names: string[]): Target[] {
  if (names.length === 0) return all;
  for (const n of names) {
    if (!all.some((t) => t.name === n)) {
      throw usageError(`unknown target "${n}"`, `known targets: ${all.map((t) => t.name).join(", ")}`);
    }
  }
  return all.filter((t) => names.includes(t.name));
}
