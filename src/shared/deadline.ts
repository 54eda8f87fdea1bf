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

/**
 * `send(signal)`, its request cancelled once `ms` milliseconds have passed (0: never), which then
 * fails with `late()`, or when `cancel` aborts (the error `send` gives, an AbortError: the caller
 * gave up). For requests that take a signal (fetch): unlike `deadline`, the request itself stops
 * (its socket and buffers go) instead of running on unobserved.
 */
export async function cancellable<T>(send: (signal: AbortSignal | undefined) => Promise<T>, ms: number, late: () => Error, cancel?: AbortSignal): Promise<T> {
  const timeout = ms > 0 ? AbortSignal.timeout(ms) : undefined;
  try {
    return await send(timeout && cancel ? AbortSignal.any([timeout, cancel]) : timeout ?? cancel);
  } catch (err) {
    if (timeout?.aborted && !cancel?.aborted) throw late();
    throw err;
  }
}
