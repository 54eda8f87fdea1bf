/** What changed between two runs, from their manifests alone (no object is read). */
import type { Manifest } from "../store/manifest.ts";

export type RunDiff = {
  run_a: string;
  run_b: string;
  config_changed: boolean;
  added: string[];
  removed: string[];
  /** Files in both runs whose content, status or skip reason differs. */
  changed: string[];
  /** Logical artifact names whose object differs (or is new) in run B. */
  artifacts_rewritten: string[];
};

export function diffRuns(a: Manifest, b: Manifest): RunDiff {
  const key = (f: Manifest["files"][number]) => `${f.status}\0${f.sha256 ?? ""}\0${f.reason ?? ""}`;
  const fa = new Map(a.files.map((f) => [f.path, f]));
  const fb = new Map(b.files.map((f) => [f.path, f]));
  const arts = new Map(a.artifacts.map((x) => [x.name, x.sha256]));
  return {
    run_a: a.run_id,
    run_b: b.run_id,
    config_changed: a.config_hash !== b.config_hash,
    added: [...fb.keys()].filter((p) => !fa.has(p)),
    removed: [...fa.keys()].filter((p) => !fb.has(p)),
    changed: [...fb.keys()].filter((p) => fa.has(p) && key(fa.get(p)!) !== key(fb.get(p)!)),
    artifacts_rewritten: b.artifacts.filter((x) => arts.get(x.name) !== x.sha256).map((x) => x.name),
  };
}
