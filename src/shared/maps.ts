/** Appends `v` to the list kept under `k` in `m`, making the list on first use. */
export const group = <K, V>(m: Map<K, V[]>, k: K, v: V): void => {
  const l = m.get(k);
  if (l) l.push(v); else m.set(k, [v]);
};
