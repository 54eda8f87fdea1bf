/** Appends `v` to the list kept under `k` in `m`, making the list on first use. */
export const group = <K, V>(m: Map<K, V[]>, k: K, v: V): void => {
  const l = m.get(k);
  if (l) l.push(v); else m.set(k, [v]);
};

/** Keeps `k` → `v` in `m`, a cache of at most `cap` entries: the oldest added goes first when it is full. */
export const remember = <K, V>(m: Map<K, V>, k: K, v: V, cap: number): void => {
  if (m.size >= cap && !m.has(k)) m.delete(m.keys().next().value!);
  m.set(k, v);
};
