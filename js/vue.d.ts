// Types of minibase-db/vue (structural, so that the package needs no Vue types).
import type { LiveSubscription } from './index.js';

/** A shallow ref of the latest value of a live query, with `error` and `stop()`. */
export function useLiveQuery<T, I = undefined>(
  subscribe: () => Pick<LiveSubscription<T>, 'subscribe'> | null | undefined,
  initial?: I,
): { value: T | I; error: { value: Error | null }; stop(): void };
