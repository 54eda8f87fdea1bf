/** What the tests read of a running process from /proc (Linux). */
import { readFileSync } from "node:fs";

/**
 * Peak resident set size of a process (VmHWM of /proc/PID/status), in bytes. Throws when the
 * process is gone (its status file with it).
 */
export function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}
