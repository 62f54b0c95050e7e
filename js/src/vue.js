// minibase-db/vue: useLiveQuery, a live query as a Vue ref. Vue is a peer:
// this file imports only it.
//
//   const todos = useLiveQuery(() => conn.table('todos').watch({ where: { done: done.value } }));

import { shallowRef, watchEffect, getCurrentScope, onScopeDispose } from 'vue';

/**
 * A shallow ref holding the latest value of a live query (`table.watch(query)`
 * or `conn.live(fn)`, or anything with `subscribe(observer)`). Reactive values
 * read while `subscribe` runs re-subscribe when they change; the subscription
 * ends with the component (its effect scope). `error` holds a failure.
 * @template T
 * @param {() => { subscribe(observer: object): { unsubscribe(): void } } | null | undefined} subscribe
 * @param {T} [initial]
 * @returns {import('vue').ShallowRef<T> & { error: import('vue').ShallowRef<Error|null>, stop(): void }}
 */
export function useLiveQuery(subscribe, initial = undefined) {
  const value = shallowRef(initial);
  const error = shallowRef(null);
  const stop = watchEffect((onCleanup) => {
    const live = subscribe();
    if (!live) return;
    const sub = live.subscribe({
      next: (v) => {
        value.value = v;
        error.value = null;
      },
      error: (e) => {
        error.value = e;
      },
    });
    onCleanup(() => sub.unsubscribe());
  });
  if (getCurrentScope()) onScopeDispose(stop);
  value.error = error;
  value.stop = stop;
  return value;
}
