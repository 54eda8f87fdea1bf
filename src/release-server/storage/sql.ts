/** SQL that the SQLite and PostgreSQL stores share (`draft = FALSE` reads the same in both, and uses the same index). */

/**
 * The condition of a draft scope (ReleaseService.draftScope: every draft, none, or those of some
 * channels) on a `releases` row named `alias` ("" or "r."): "" for every draft, else " AND …",
 * with its parameters.
 */
export function draftFilter(drafts: boolean | string[], alias: string): { sql: string; params: string[] } {
  if (drafts === true) return { sql: "", params: [] };
  const channels = Array.isArray(drafts) ? drafts : [];
  if (channels.length === 0) return { sql: ` AND ${alias}draft = FALSE`, params: [] };
  return { sql: ` AND (${alias}draft = FALSE OR ${alias}channel IN (${channels.map(() => "?").join(", ")}))`, params: channels };
}

/**
 * The newest release of app `?` visible under `visible` (draftFilter on "r.") that has an artifact
 * named `?`: the artifacts of that name come from artifacts_by_app_name (app, name, release), so a
 * name no release has costs one index probe, and each found release is read by its id; the order is
 * `releases.all`'s. Parameters: app id, file name, app id, then the filter's.
 */
export const newestWithArtifactSql = (visible: string) =>
  `SELECT r.* FROM artifacts a JOIN releases r ON r.id = a.release_id
     WHERE a.app_id = ? AND a.filename = ? AND r.app_id = ?${visible} ORDER BY r.created_at DESC, r.id DESC LIMIT 1`;
