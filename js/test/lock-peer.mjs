// A worker thread that opens a root with its own engine instance, for
// lock.test.mjs. Not a test itself. Messages: { root } opens it and answers
// { ok } or { code, message }; { close } closes it; { die } ends the Go
// instance the way a Go fatal error does, leaving the thread running;
// { exit } ends the thread without closing anything.
import { parentPort } from 'node:worker_threads';
import { connect } from 'minibase-db';

// Keep the Go object of the engine this thread starts, to end it.
const gos = [];
const Go = globalThis.Go;
globalThis.Go = class extends Go {
  constructor() {
    super();
    gos.push(this);
  }
};

let conn = null;
parentPort.on('message', async (msg) => {
  try {
    if (msg.close) {
      await conn?.close();
      conn = null;
    } else if (msg.die) {
      for (const go of gos) go.exit(2); // what wasm_exec calls when Go exits
    } else if (msg.exit) {
      process.exit(0);
    } else {
      conn = await connect({ adapter: 'node', root: msg.root });
      await conn.createDatabase('from_worker', { ifNotExists: true });
    }
    parentPort.postMessage({ ok: true });
  } catch (err) {
    parentPort.postMessage({ code: err.code, message: err.message });
  }
});
