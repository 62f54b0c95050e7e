// Types of minibase-db/react.
import type { LiveSubscription } from './index.js';

/**
 * The latest value of a live query (`table.watch(query)`, `conn.live(fn)`), re-subscribed
 * when deps change, unsubscribed on unmount; `initial` until the first value.
 */
export function useLiveQuery<T>(subscribe: () => Pick<LiveSubscription<T>, 'subscribe'> | null | undefined, deps?: unknown[]): T | undefined;
export function useLiveQuery<T, I>(subscribe: () => Pick<LiveSubscription<T>, 'subscribe'> | null | undefined, deps: unknown[], initial: I): T | I;
