// Loaded before every test file (bunfig.toml [test] preload). Most test files spawn processes,
// servers, browsers or builds; on a 2-core machine running several files at once (bun test
// --parallel, as .ci/run does) such a test can wait longer than bun's 5 s default without
// anything being wrong. A hung test still fails, after a minute. This covers `bun test FILE`; with
// several files per process only the first gets it, so .ci/run and the README pass --timeout=60000.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);
