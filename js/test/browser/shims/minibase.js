// 'minibase-db' for the JS API suite in the page: the browser build, with every
// connection on IndexedDB (the suite asks for { adapter: 'memory', root }).
import { connect as browserConnect } from '../../../dist/browser.mjs';

export { MinibaseError, Connection, Table, Transaction } from '../../../dist/browser.mjs';

export function connect(options = {}) {
  const { adapter, root, ...rest } = options;
  return browserConnect({ ...rest, adapter: 'indexeddb', name: root ?? 'minibase' });
}
