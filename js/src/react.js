// minibase-db/react: useLiveQuery, a live query as React state. React is a
// peer: this file imports only it.
//
//   const todos = useLiveQuery(() => conn.table('todos').watch({ where: { done: false } }), [conn]);

import { useEffect, useState } from 'react';

/**
 * The latest value of a live query (`table.watch(query)` or `conn.live(fn)`,
 * or anything with `subscribe(observer)`), re-subscribed when deps change and
 * unsubscribed on unmount. `initial` until the first value arrives; an
 * error of the query is thrown to the nearest error boundary.
 * @template T
 * @param {() => { subscribe(observer: object): { unsubscribe(): void } } | null | undefined} subscribe
 * @param {unknown[]} [deps]
 * @param {T} [initial]
 * @returns {T}
 */
export function useLiveQuery(subscribe, deps = [], initial = undefined) {
  const [state, setState] = useState({ value: initial, error: null });
  useEffect(() => {
    const live = subscribe();
    if (!live) return undefined;
    const sub = live.subscribe({
      next: (value) => setState({ value, error: null }),
      error: (error) => setState((s) => ({ value: s.value, error })),
    });
    return () => sub.unsubscribe();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  if (state.error) throw state.error;
  return state.value;
}
