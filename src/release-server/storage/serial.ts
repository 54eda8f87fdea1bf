/**
 * The asynchronous `Repositories` over a synchronous, single-connection store (memory, bun:sqlite).
 *
 * One connection has one transaction at a time, but with asynchronous repositories a request may
 * await inside its transaction while other requests run. So a transaction owns the connection
 * until it ends: calls made from inside it (tracked with AsyncLocalStorage, so `await`s and nested
 * `transaction` calls stay inside) run at once; calls from anywhere else wait for it to end, so
 * they neither see its uncommitted rows nor get rolled back with it. Outside transactions calls
 * run synchronously at once (no queue on the read path).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type {
  AppRepository,
  ArtifactRepository,
  AuditRepository,
  ChannelRepository,
  Repositories,
  ReleaseRepository,
  TokenRepository,
} from "../domain/repository.ts";

/** A repository's methods, answering synchronously. */
export type Sync<R> = { [K in keyof R]: R[K] extends (...args: infer A) => Promise<infer T> ? (...args: A) => T : never };

export interface SyncStore {
  apps: Sync<AppRepository>;
  releases: Sync<ReleaseRepository>;
  artifacts: Sync<ArtifactRepository>;
  channels: Sync<ChannelRepository>;
  tokens: Sync<TokenRepository>;
  audit: Sync<AuditRepository>;
  begin(): void;
  commit(): void;
  rollback(): void;
  /** Takes the named lock for `holder` until `ttlMs` from now unless another live holder has it. */
  tryLock(name: string, holder: string, ttlMs: number): boolean;
  unlock(name: string, holder: string): void;
  close(): void;
}

/**
 * Who holds a database's connection in this process. Connections to one SQLite file share a lane:
 * a second connection's BEGIN IMMEDIATE would otherwise block the thread (busy timeout) while the
 * transaction holding the file waits for that same thread.
 */
export interface Lane {
  als: AsyncLocalStorage<object>;
  active: { token: object; done: Promise<void> } | null;
}

export const newLane = (): Lane => ({ als: new AsyncLocalStorage<object>(), active: null });

/** How long a lock lease lasts without renewal (a crashed holder's lock frees itself after this). */
export const LOCK_TTL_MS = 10 * 60_000;

export function serialized(store: SyncStore, lane: Lane = newLane()): Repositories {
  const { als } = lane;
  const inside = () => lane.active !== null && als.getStore() === lane.active.token;

  async function gated<T>(fn: () => T): Promise<T> {
    while (lane.active !== null && !inside()) await lane.active.done;
    return fn();
  }

  function wrap<R extends object>(sync: R): any {
    const out: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(sync)) {
      const f = method as (...args: unknown[]) => unknown;
      out[name] = (...args: unknown[]) => {
        if (lane.active === null || inside()) {
          try {
            return Promise.resolve(f(...args));
          } catch (err) {
            return Promise.reject(err);
          }
        }
        return gated(() => f(...args));
      };
    }
    return out;
  }

  return {
    apps: wrap(store.apps),
    releases: wrap(store.releases),
    artifacts: wrap(store.artifacts),
    channels: wrap(store.channels),
    tokens: wrap(store.tokens),
    audit: wrap(store.audit),
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      if (inside()) return fn();
      while (lane.active !== null) await lane.active.done;
      let release!: () => void;
      const token = {};
      lane.active = { token, done: new Promise<void>((r) => (release = r)) };
      try {
        store.begin();
        let result: T;
        try {
          result = await als.run(token, fn);
          store.commit();
        } catch (err) {
          store.rollback();
          throw err;
        }
        return result;
      } finally {
        lane.active = null;
        release();
      }
    },
    async exclusive<T>(name: string, fn: () => Promise<T>) {
      const holder = `${process.pid}-${crypto.randomUUID()}`;
      if (!(await gated(() => store.tryLock(name, holder, LOCK_TTL_MS)))) return { locked: false as const };
      // Renew the lease while `fn` runs, so only a holder that died loses it.
      const renew = setInterval(() => void gated(() => store.tryLock(name, holder, LOCK_TTL_MS)).catch(() => {}), LOCK_TTL_MS / 4);
      renew.unref?.();
      try {
        return { locked: true as const, value: await fn() };
      } finally {
        clearInterval(renew);
        await gated(() => store.unlock(name, holder));
      }
    },
    async close() {
      while (lane.active !== null && !inside()) await lane.active.done;
      store.close();
    },
  };
}
