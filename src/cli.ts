#!/usr/bin/env bun
// Entry point of the `auditgraph` executable (package.json "bin", and what `bun build --compile` builds).
import { main } from "./cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
