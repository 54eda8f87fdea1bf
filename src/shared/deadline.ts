/**
 * `p`, or the error `late()` makes once `ms` milliseconds have passed (none when `ms` is 0). What
 * `p` does after that is dropped: its late failure is no unhandled rejection. For calls to a server
 * that may stop answering (a frozen database or blob store): the caller answers instead of waiting
 * as long as the server does.
 */
export function deadline<T>(p: Promise<T>, ms: number, late: () => Error): Promise<T> {
  if (!(ms > 0)) return p;
  p.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const over = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(late()), ms); });
  return Promise.race([p, over]).finally(() => clearTimeout(timer));
}
