// Type checks of the live query API (tsc --noEmit -p js/test/types).
import { connect, type ChangeEvent, type LiveSubscription, type Row } from 'minibase-db';
import { useLiveQuery as useReact } from 'minibase-db/react';
import { useLiveQuery as useVue } from 'minibase-db/vue';

async function live() {
  const conn = await connect({ adapter: 'memory' });
  const users = conn.table('users');
  const sub: LiveSubscription<Row[]> = users.watch({ where: { age: 30 } }, (rows) => void rows.length);
  const h = sub.subscribe({ next: (rows) => void rows[0], error: (e) => void e.code, complete: () => {} });
  h.unsubscribe();
  for await (const rows of users.watch()) void rows.length;
  const counts = conn.live(async (tx) => ({ n: await tx.table('users').count(), u: await tx.table('users').get(1) }));
  const n: number | undefined = counts.current?.n;
  conn.changes({ tables: ['users'], since: 0 }, (c: ChangeEvent) => void (c.source === 'tab' ? c.key : c.seq));
  const st = await conn.storage();
  st.watch<string>('theme', (v) => void v?.length);
  const reevaluations: number | undefined = (await conn.stats()).live?.reevaluations;
  // @ts-expect-error the callback gets rows, not a number
  users.watch({}, (rows: number) => rows);
  const rows: Row[] | undefined = useReact(() => users.watch(), [users]);
  const rows2: Row[] | never[] = useReact(() => users.watch(), [users], [] as never[]);
  const ref = useVue(() => users.watch(), []);
  const r: Row[] | never[] = ref.value;
  await sub.done;
  void n, reevaluations, rows, rows2, r;
}

void live;
