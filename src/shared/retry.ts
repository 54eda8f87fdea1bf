/**
 * `what`, tried again after each of `delaysMs` while it throws and `again(err)` says the failure
 * may pass (a store's transient error, not an object that is gone).
 */
export async function retrying<T>(what: () => Promise<T>, again: (err: unknown) => boolean, delaysMs: readonly number[] = [50, 200]): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await what();
    } catch (err) {
      if (attempt >= delaysMs.length || !again(err)) throw err;
      await Bun.sleep(delaysMs[attempt]!);
    }
  }
}
