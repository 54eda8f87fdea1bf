/**
 * JavaScriptCore's JIT policy. The auditgraph executable starts with its tier-up thresholds scaled
 * up by STARTUP_JIT_POLICY (`--compile-jit-policy`, scripts/release/compile.ts): a read command
 * (`query`, `node`, ...) is a process of some tens of milliseconds whose code mostly runs a few
 * times, and compiling it on the JIT's threads cost more CPU than it saved (measured in docs/architecture.md,
 * "JIT policy"). Long work (ingest, export, verify, the servers, a shard worker)
 * asks for the normal policy with normalJit() before it starts. Running from source (`bun
 * src/cli.ts`) starts with the normal policy, and normalJit() changes nothing there.
 */
export const STARTUP_JIT_POLICY = 100;

/** Back to JavaScriptCore's normal tier-up thresholds for this thread (see above). */
export function normalJit(): void {
  Bun.unsafe.setJITPolicy(1);
}
