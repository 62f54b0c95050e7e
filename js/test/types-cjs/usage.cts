// The declarations as a CommonJS consumer sees them (a .cts file, or any
// file of a "type": "commonjs" project): require-flavoured types.
import { connect, MinibaseError } from 'minibase-db';
import compat = require('minibase-db/compat');

async function main(): Promise<void> {
  const conn = await connect({ adapter: 'memory', root: 'cjs' });
  await conn.createDatabase('d');
  await conn.useDatabase('d');
  const rows: object[] = await conn.table('t').select({ where: { a: 1 } });
  void rows;
  const old = await compat.connect({ adapter: 'memory' });
  void old;
  try {
    await conn.close();
  } catch (e) {
    if (e instanceof MinibaseError) console.log(e.code);
  }
}
void main;
