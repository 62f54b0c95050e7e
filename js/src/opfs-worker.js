// The 'opfs' adapter of the browser build: the engine runs in a dedicated
// Worker the loader starts itself (browser.mjs loaded again as a module
// worker named WORKER_NAME), on OPFS files through FileSystemSyncAccessHandle
// (browser-opfs.js). The page keeps its API: OpfsOwner takes the place of
// the IndexedDB owner in tabs.js and forwards each engine call to the worker
// by message, or, on a cross-origin-isolated page, through a shared buffer
// (opfs-channel.js). After a call that wrote, the worker flushes the files it
// wrote (FileSystemSyncAccessHandle.flush) before it answers: a commit is
// acknowledged only when durable.
//
// A call carries an id (`from:seq`, tabs.js). One forwarded from another
// tab may come again, to the next owner, when this one goes away before it
// answered; one of the owner's own tab loses its answer when the worker
// dies. So a table write or commit runs in a once envelope
// (wasm/PROTOCOL.md): the engine commits its answer with its writes, in one
// append of its log, and whatever point the worker is stopped at, the call
// either left nothing or left its data and its answer. The next owner, or
// this one in a new worker, answers it from the record (`recorded`) instead
// of running it again, or runs it when it left nothing.

import { MinibaseError, toMinibaseError } from './errors.js';
import { SlotPool, opfsHost, ANSWER, MARKER } from './browser-opfs.js';
import { storageEvents, witnessOf, setWitness } from './browser-idb.js';
import { hasChanges, ownerFeedAnswer } from './live.js';
import { ONCE_OPS } from './ops.gen.js';
import { Decoder, Encoder } from './codec.js';
import { decodeAnswer, STATUS_OK } from './bridge.js';
import { PageChannel, WorkerChannel, decodeSharedAnswer, sharedChannelAvailable } from './opfs-channel.js';

/** The name of the worker the loader starts for OPFS (a module worker of browser.mjs). */
export const WORKER_NAME = 'minibase-opfs-engine';

// The messages between the page and its worker. A request is an object
// `{ rid, type, ...fields }`, `type` one of serveOpfs's handlers, run one
// after another, or 'start' (a preload: the engine starts beside them),
// answered `{ rid, result }` or `{ rid, error: { code, message } }`. Except the
// engine calls, every read and write of the app, which are the hot path and
// so are arrays (cheaper to clone) carrying the engine's own bytes:
//   EXEC request  [rid, name, op, id, request, take]
//        answer   [rid, answer, wrote, changes, sized]
// `request`: `[op, ...args]` (or its once envelope) encoded by the page
// (codec.js), transferred; `answer`: the engine's answer as it made it
// (status byte, value), transferred and decoded in the page, or
// `{ code, message }` when the call failed outside the engine (its worker's
// engine died, the database is not open there). Nothing is decoded in the
// worker, nothing is structured-cloned but the feed's batch (`changes`,
// taken after a call that wrote when a tab watches) and `sized` (stats:
// `{ memoryBytes, files }`, the wasm memory and the pool's counts). A
// message of another shape is answered with an error or dropped; it never
// stops the worker.

/**
 * Request and answer bytes from this size on are transferred rather than
 * copied: below it, a copy costs less than detaching a buffer.
 */
const TRANSFER_MIN = 16 * 1024;

// The worker's loop over the shared channel (serveOpfs): it yields a turn of
// its message loop after SLICE_MS of calls, or IDLE_MS without one, and
// polls every KICK_POLL_MS while a message the page posted is on its way.
const SLICE_MS = 50;
// The calls a pool serves before the files its open left closed start to
// open in the background (openRest): the open's first query goes first.
const CALLS_BEFORE_REST = 3;
const IDLE_MS = 1000;
const KICK_POLL_MS = 5;

const randomId = () =>
  globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

// The most runs of one call that reads files not open yet: each run names
// every one it missed (the engine goes on through older runs of the store
// when one is missing), so a lookup takes two or three.
const MAX_RUNS = 16;

// Whether an exec answer is a failure (the engine's status byte, or ours).
const failed = (answer) => !(answer instanceof Uint8Array) || answer[0] !== STATUS_OK;

const plainError = (err) => ({ code: err?.code ?? 'INTERNAL', message: err?.message ?? String(err) });

/** A call id `from:seq` (tabs.js) as [from, seq]. */
const splitId = (id) => {
  const at = id.lastIndexOf(':');
  return [id.slice(0, at), Number(id.slice(at + 1))];
};

/**
 * Tests only: a function set under this key in the worker's global is asked
 * after each engine call `(op, id)`; when it answers true the worker stops
 * right there, before it flushes or answers, as if its page had closed.
 */
const HALT_HOOK = Symbol.for('minibase.opfsHaltAfterCall');

/** Tests only: while this key of the worker's global is true, files an open left closed open only when a call reads them. */
const NO_REST_HOOK = Symbol.for('minibase.opfsNoBackgroundOpen');

/** Whether this context can run the 'opfs' adapter (a Worker to start, OPFS to use). */
export function opfsAvailable() {
  return typeof Worker === 'function' && typeof globalThis.navigator?.storage?.getDirectory === 'function';
}

// ---- in the worker ----------------------------------------------------

/**
 * Serves the page's requests in the OPFS worker. `startEngine(host)` starts
 * the Go engine with the host objects given (browser.js's loader).
 * @param {DedicatedWorkerGlobalScope} scope
 * @param {(options: { wasm?: unknown, reserveMB?: number }) => Promise<import('./bridge.js').Bridge>} startEngine
 */
export function serveOpfs(scope, startEngine) {
  let engine = null;
  let started = null; // the engine's bridge once it runs
  let chain = Promise.resolve();
  // The engine, started by the first request that needs it (a preload's
  // 'start' or an 'open'); one that failed to start is tried again by the next.
  const engineOf = (options) =>
    (engine ??= startEngine(options).catch((err) => {
      engine = null;
      throw err;
    }));
  const handlers = {
    // Takes the Web Lock `lock` for as long as this worker lives: the page
    // waits for it, and gets it when the worker is gone, however it went.
    async life({ lock }) {
      await new Promise((granted) => {
        scope.navigator.locks.request(lock, () => {
          granted();
          return new Promise(() => {});
        });
      });
    },
    async open({ name, wasm, reserveMB }) {
      const starting = engineOf({ wasm, reserveMB });
      // The files open while the engine compiles and starts: neither needs
      // the other until the first call, and each was half of a cold open.
      const opening = opfsHost.pools.has(name) ? null : SlotPool.open(name);
      const [ready, files] = await Promise.allSettled([starting, opening]);
      if (ready.status === 'rejected') {
        if (files.status === 'fulfilled') files.value?.close();
        throw ready.reason;
      }
      started = ready.value;
      if (files.status === 'rejected') throw files.reason;
      if (files.value) opfsHost.pools.set(name, files.value);
      const pool = opfsHost.pools.get(name);
      // Answers of forwarded calls as an older version kept them (a slot
      // file each, written after the call): still read, released on settle.
      const answers = [...pool.entries(ANSWER)].map((s) => [s.path, JSON.parse(new TextDecoder().decode(pool.readAll(s)))]);
      const marker = [...pool.entries(MARKER)][0]?.path ?? null;
      return { marker, hasFiles: pool.hasFiles, answers };
    },
    // A new marker; with `clear`, every file goes first (the database is evicted or half).
    async mark({ name, clear }) {
      const pool = poolOf(name);
      if (clear) await pool.clear();
      for (const s of [...pool.entries(MARKER)]) pool.release(s);
      const id = randomId();
      pool.create(MARKER, id);
      pool.flush();
      return id;
    },
    // The answer call `id` was committed with, through connection `handle`
    // (or one opened for it with `durability`, returned as `opened`):
    // `{ reply }`, reply null when it has none.
    async recorded({ name, id, handle, durability }) {
      const bridge = await engine;
      const pool = poolOf(name);
      let opened;
      if (handle === undefined) handle = opened = bridge.call('open', { adapter: 'opfs', root: name, durability });
      const rec = await withFiles(pool, () => bridge.call('recorded', handle, ...splitId(id)));
      const reply = rec === null ? null : rec[0] === 0 ? { result: rec[1] } : { error: rec[1] };
      return { reply, opened };
    },
    // Tab `from` has its answers below `floor`: the engine forgets their
    // records (through `handle`, when one is open), the pool the old answer
    // files `ids`.
    async forget({ name, from, floor, handle, ids }) {
      const bridge = await engine;
      const pool = poolOf(name);
      try {
        if (handle !== undefined) await withFiles(pool, () => bridge.call('settle', handle, from, floor));
      } catch {
        // The connection just closed: the records go with a later settle, or past the engine's cap.
      }
      let released = false;
      for (const id of ids) {
        const s = pool.get(ANSWER, id);
        if (s) {
          pool.release(s);
          released = true;
        }
      }
      if (released || pool.dirty) pool.flush();
    },
    // Closes the engine's connections to the database and its files.
    async release({ name, handles }) {
      const bridge = await engine;
      for (const h of handles) {
        try {
          bridge?.call('close', h);
        } catch {}
      }
      const pool = opfsHost.pools.get(name);
      // Spares beyond the fewest kept go now: the next open asks for fewer handles.
      await pool?.trim().catch(() => {});
      pool?.close();
      opfsHost.pools.delete(name);
    },
  };
  const poolOf = (name) => {
    const pool = opfsHost.pools.get(name);
    if (!pool) throw new MinibaseError('CLOSED', `opfs: database ${name} is not open in this worker`);
    return pool;
  };
  // A forwarded engine call (the hot message, see EXEC): runs the request
  // bytes the page encoded, flushes what the call wrote before answering,
  // and answers the engine's bytes. Never throws: what fails is the answer.
  // A call that failed reading files whose handles the pool has not opened
  // yet (browser-opfs.js) changed nothing: they open, and it runs again
  // (then the answer is a promise). An open that failed on a view the
  // pool's map led runs again once on every slot sorted by its header.
  const exec = (data) => {
    const [rid, name, op, , request] = data;
    let pool;
    try {
      pool = poolOf(name);
      if (!(request instanceof Uint8Array)) throw new MinibaseError('BAD_VALUE', `opfs: ${op}: the request is not encoded`);
    } catch (err) {
      return [rid, plainError(toMinibaseError(err, op)), false, null, undefined];
    }
    const answer = run(op, request);
    if (!failed(answer) || !(pool.wantsFiles || op === 'open')) return finish(data, pool, answer);
    return (async () => {
      let again = answer;
      for (let runs = 1; failed(again) && runs < MAX_RUNS; runs++) {
        if (pool.wantsFiles) await pool.openWanted();
        else if (op !== 'open' || !(await pool.resort())) break;
        pool.counters.reruns++;
        again = run(op, request);
      }
      return finish(data, pool, again);
    })().catch((err) => [rid, plainError(toMinibaseError(err, op)), false, null, undefined]);
  };
  const run = (op, request) => {
    try {
      return started.callEncoded(String(op), request);
    } catch (err) {
      return plainError(toMinibaseError(err, op));
    }
  };
  const finish = ([rid, , op, id, , take], pool, answer) => {
    let wrote = false;
    let changes = null;
    let sized;
    try {
      if (scope[HALT_HOOK]?.(op, id)) return null;
      wrote = pool.dirty;
      if (wrote) pool.flush();
      if (wrote && take !== undefined) {
        try {
          const batch = started.call('changesTake', take, true); // with rows: a tab may read the feed itself
          if (hasChanges(batch)) changes = batch;
        } catch {
          // No feed to give (the connection just closed): the watchers miss nothing they could see.
        }
      }
      if (op === 'stats') sized = { memoryBytes: started.memoryBytes, files: pool.stats() };
    } catch (err) {
      // Not durable (a flush failed): an error, and no answer to keep for a resend.
      answer = plainError(toMinibaseError(err, op));
      wrote = false;
      changes = null;
    }
    return [rid, answer, wrote, changes, sized];
  };
  // The engine calls of the other requests, run again as exec's are.
  const withFiles = async (pool, fn) => {
    for (let runs = 1; ; runs++) {
      try {
        return fn();
      } catch (err) {
        if (!pool.wantsFiles || runs >= MAX_RUNS) throw err;
        await pool.openWanted();
        pool.counters.reruns++;
      }
    }
  };
  let queued = 0; // requests waiting or running on the chain
  let halted = false; // HALT_HOOK stopped this worker: it answers nothing more
  let toppingUp = false;
  const post = (out) => scope.postMessage(out, Array.isArray(out) && out[1] instanceof Uint8Array && out[1].length >= TRANSFER_MIN ? [out[1].buffer] : []);
  const answered = (out) => {
    post(out);
    after();
  };
  // After each answer: a dead engine ends the worker (gone, it lets go of
  // its files, and the page starts another); free files are topped up
  // between calls, on the chain, when awaiting is allowed.
  const after = () => {
    if (started?.dead) {
      halted = true;
      scope.close();
      return;
    }
    openLater();
    if (toppingUp) return;
    for (const pool of opfsHost.pools.values()) {
      if (!pool.needsTopUp) continue;
      toppingUp = true;
      enqueue(async () => {
        try {
          for (const p of opfsHost.pools.values()) if (p.needsTopUp) await p.topUp().catch(() => {});
        } finally {
          toppingUp = false;
        }
      });
      return;
    }
  };
  // The files an open left closed open in the background from the pool's
  // CALLS_BEFORE_REST-th call on (SlotPool.openRest).
  const served = new WeakMap(); // pool → calls since its open
  const resting = new WeakSet(); // pools opening their closed files now
  const openLater = () => {
    if (halted || scope[NO_REST_HOOK]) return;
    for (const p of opfsHost.pools.values()) {
      const n = (served.get(p) ?? 0) + 1;
      served.set(p, n);
      if (n < CALLS_BEFORE_REST || resting.has(p) || !p.opensLater) continue;
      resting.add(p);
      p.openRest()
        .catch(() => {})
        .finally(() => resting.delete(p));
    }
  };
  const enqueue = (fn) => {
    queued++;
    chain = chain.then(fn).finally(() => {
      if (--queued === 0) listenSoon();
    });
  };

  // ---- the shared-memory channel (opfs-channel.js), once the page set one up ----
  // The worker serves the buffer from a loop blocked in Atomics.wait, run as
  // a task of its own whenever nothing is queued on the chain. It leaves the
  // loop, so that the worker's own message loop runs, when
  //   - a message is on its way (KICK: the page's other requests, a call too
  //     large for the buffer): it is taken, queued on the chain as before,
  //     and the loop starts again once the chain is empty;
  //   - a call left work that must await (free files to top up): the same;
  //   - SLICE_MS passed while serving calls, or IDLE_MS with none: it yields
  //     one turn of its message loop, then goes on.
  // So a message never waits behind the loop for more than one call (or
  // IDLE_MS, for one posted by another script, which does not kick), and a
  // request in the buffer waits at most for the chain to empty.
  let channel = null; // WorkerChannel
  let listening = false; // a loop task is scheduled
  let poll = null; // the timer of a loop that waits for a kicked message
  const tick = new MessageChannel(); // a task without setTimeout's clamping
  tick.port1.onmessage = () => listen();
  const listenSoon = () => {
    if (poll !== null) {
      clearTimeout(poll);
      poll = null;
    }
    if (!channel || listening || halted) return;
    listening = true;
    tick.port2.postMessage(null);
  };
  const listen = () => {
    listening = false;
    if (poll !== null) {
      clearTimeout(poll);
      poll = null;
    }
    if (!channel || halted || queued > 0) return; // again once the chain is empty
    const start = performance.now();
    for (;;) {
      const bell = channel.bell();
      const seq = channel.pending();
      if (seq !== 0) {
        serveShared(seq);
        if (halted || queued > 0 || !channel) return;
        if (performance.now() - start > SLICE_MS) break;
        continue;
      }
      if (channel.kicked()) {
        // The message comes in a task of its own, and the loop starts again
        // after it; if it never does (a message that failed to post), the
        // loop does not stop: it polls the buffer meanwhile.
        poll = setTimeout(listen, KICK_POLL_MS);
        return;
      }
      if (performance.now() - start > IDLE_MS) break;
      channel.wait(bell, IDLE_MS);
    }
    listenSoon();
  };
  // One call from the buffer, answered there (or by message when its answer
  // does not fit). Never throws.
  const serveShared = (seq) => {
    let rid;
    let out;
    try {
      const [r, name, op, id, take, request] = channel.take(seq);
      rid = r;
      out = exec([rid, name, op, id, request, take]);
      if (out instanceof Promise) {
        // It runs again once files opened: the loop stops until then (queued).
        enqueue(() => out.then((o) => replyShared(seq, o)));
        return;
      }
    } catch (err) {
      out = [rid, plainError(toMinibaseError(err, 'opfs: a shared call')), false, null, undefined];
    }
    replyShared(seq, out);
  };
  const replyShared = (seq, out) => {
    if (out === null) {
      halted = true;
      return;
    }
    if (!channel.reply(seq, [out[1], out[2], out[3], out[4] ?? null])) post(out);
    after();
  };
  const request = async (data) => {
    if (Array.isArray(data)) {
      try {
        if (!started) await engine;
      } catch (err) {
        return answered([data[0], plainError(toMinibaseError(err, 'opfs: the engine')), false, null]);
      }
      const out = await exec(data);
      if (out === null) {
        halted = true;
        return new Promise(() => {});
      }
      return answered(out);
    }
    const { rid, type, ...msg } = data !== null && typeof data === 'object' ? data : {};
    let out;
    try {
      if (!Object.hasOwn(handlers, type)) throw new MinibaseError('BAD_VALUE', `opfs: unknown request ${String(type)}`);
      out = { rid, result: await handlers[type](msg) };
    } catch (err) {
      // Another context holds the files (a second owner without Web Locks): LOCKED.
      const e = err?.locked ? new MinibaseError('LOCKED', `opfs: database ${msg.name} is open in another tab or worker: ${err.message}`) : toMinibaseError(err, type);
      out = { rid, error: plainError(e) };
    }
    answered(out);
  };
  // The page's shared buffer (one per worker, set before its first call).
  handlers.channel = async ({ sab }) => {
    if (channel) throw new MinibaseError('BAD_VALUE', 'opfs: this worker has its channel already');
    channel = new WorkerChannel(sab);
    return true;
  };
  scope.onmessage = (e) => {
    if (halted) return;
    const data = e.data;
    channel?.received();
    // One request at a time, in order. An engine call that finds nothing
    // queued runs at once, in this task: no hop through the chain.
    if (queued === 0 && Array.isArray(data) && started && !started.dead) {
      const out = exec(data);
      if (out instanceof Promise) enqueue(() => out.then((o) => (o === null ? (halted = true) : answered(o))));
      else if (out === null) halted = true;
      else answered(out);
      listenSoon();
      return;
    }
    if (data?.type === 'start') {
      // A preload: the engine starts beside the chain, so that an open sent
      // meanwhile opens its files while it does. Counted as queued work,
      // so that the channel's loop does not block the start's tasks.
      queued++;
      engineOf({ wasm: data.wasm, reserveMB: data.reserveMB })
        .then(
          (bridge) => {
            started = bridge;
            post({ rid: data.rid, result: true });
          },
          (err) => post({ rid: data.rid, error: plainError(toMinibaseError(err, 'preload')) }),
        )
        .finally(() => {
          if (--queued === 0) listenSoon();
        });
      return;
    }
    enqueue(() => request(data).catch(() => {}));
  };
}

// ---- in the page ------------------------------------------------------

/** The key under which the page keeps its OPFS Worker, for tests that kill it as a crash would. */
const WORKER_HOOK = Symbol.for('minibase.opfsWorker');

/** The key under which the page keeps its worker's shared channel (a PageChannel), for tests that write into it. */
const CHANNEL_HOOK = Symbol.for('minibase.opfsChannel');

/**
 * How long a new worker has to take its Web Lock of life (its first
 * message): one that died before it did leaves no other trace, so past this
 * it counts as lost rather than leaving the calls waiting forever.
 */
const LIFE_WAIT_MS = 15_000;

/**
 * The OPFS worker of this page, started on first use and again after it
 * died. A worker that died (terminated, closed, crashed: its Web Lock of
 * life came free, or it raised an uncaught error) fails the calls it had
 * with WORKER_LOST, and the next call starts a new one.
 */
class WorkerClient {
  #worker;
  #next = 0;
  #waiting = new Map();
  #failure = null;
  #gone; // settles once the worker's context is gone, and with it its access handles
  // The shared-memory channel (opfs-channel.js), when the page is
  // cross-origin isolated and the app did not ask for messages: set up by
  // the 'channel' request, used once the worker took it (#shared). With a
  // channel, requests go one at a time, each once the one before it was
  // answered (#queue), whichever way each travels: so they reach the engine
  // in the order they were made, as the worker's queue keeps them by message.
  #chan = null;
  #shared = false;
  #queue = [];
  #draining = false;

  /**
   * @param {string|URL} url the worker's module
   * @param {'auto'|'shared'|'message'} [channel] how engine calls travel (connect's `channel`)
   */
  constructor(url, channel = 'auto') {
    this.#worker = new Worker(url, { type: 'module', name: WORKER_NAME });
    globalThis[WORKER_HOOK] = this.#worker;
    if (channel !== 'message' && sharedChannelAvailable()) {
      this.#chan = new PageChannel();
      globalThis[CHANNEL_HOOK] = this.#chan;
    }
    this.#worker.onmessage = (e) => {
      const d = e.data;
      const exec = Array.isArray(d);
      const rid = exec ? d[0] : d?.rid;
      const w = this.#waiting.get(rid);
      if (!w) return;
      this.#waiting.delete(rid);
      if (exec) w.resolve(d);
      else if (d.error) w.reject(new MinibaseError(d.error.code, d.error.message));
      else w.resolve(d.result);
    };
    // An uncaught error leaves the worker in a state nothing can vouch for: it goes.
    this.#worker.onerror = (e) => this.#lose(`the OPFS worker failed: ${e?.message ?? e}`);
    const locks = globalThis.navigator?.locks;
    if (locks?.request) {
      const lock = `minibase:opfs-worker:${randomId()}`;
      const timer = setTimeout(() => this.#lose(`the OPFS worker did not start within ${LIFE_WAIT_MS} ms`), LIFE_WAIT_MS);
      this.#gone = this.request('life', { lock })
        .finally(() => clearTimeout(timer))
        .then(() => locks.request(lock, () => {}))
        .then(
          () => this.#lose('the OPFS worker stopped'),
          () => {},
        );
    } else this.#gone = Promise.resolve();
    if (this.#chan) {
      // Settled in #drain before the next request goes: that one already takes the channel.
      const taken = () => (this.#shared = true);
      const refused = () => {
        // A worker that cannot take it (none should): messages, as without isolation.
        if (globalThis[CHANNEL_HOOK] === this.#chan) delete globalThis[CHANNEL_HOOK];
        this.#chan = null;
      };
      this.#queue.push(['channel', { sab: this.#chan.sab }, taken, refused]);
      if (!this.#draining) this.#drain();
    }
  }

  /** True once the worker died: nothing more is sent to it. */
  get lost() {
    return this.#failure !== null;
  }

  /** Resolves once the worker's context is gone (at once without Web Locks: the files' opening retries). */
  gone() {
    return this.#gone;
  }

  #lose(reason) {
    if (this.#failure) return;
    this.#failure = new MinibaseError('WORKER_LOST', `${reason}; the call may or may not have committed, and the next call starts a new worker`);
    this.#worker.terminate();
    if (globalThis[WORKER_HOOK] === this.#worker) delete globalThis[WORKER_HOOK];
    if (this.#chan) {
      this.#chan.close();
      if (globalThis[CHANNEL_HOOK] === this.#chan) delete globalThis[CHANNEL_HOOK];
    }
    for (const w of this.#waiting.values()) w.reject(this.#failure);
    this.#waiting.clear();
    if (client === this) client = null;
  }

  /**
   * Starts the worker's engine (a preload) and resolves once it runs. Sent
   * past the queue: the worker starts its engine beside its other requests.
   */
  start(wasm, reserveMB) {
    if (this.#failure) return Promise.reject(this.#failure);
    return this.#send('start', { wasm, reserveMB });
  }

  request(type, msg) {
    if (this.#failure) return Promise.reject(this.#failure);
    if (!this.#chan) return this.#send(type, msg);
    return new Promise((resolve, reject) => {
      this.#queue.push([type, msg, resolve, reject]);
      if (!this.#draining) this.#drain();
    });
  }

  // Sends the queued requests one after the other (with a channel).
  async #drain() {
    this.#draining = true;
    while (this.#queue.length) {
      const [type, msg, resolve, reject] = this.#queue.shift();
      if (this.#failure) {
        reject(this.#failure);
        continue;
      }
      try {
        resolve(await this.#send(type, msg));
      } catch (err) {
        reject(err);
      }
    }
    this.#draining = false;
  }

  #send(type, msg) {
    if (type === 'exec') return this.#exec(msg);
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      try {
        this.#post({ ...msg, type, rid: id });
      } catch (err) {
        // Structured clone refused an argument (a function, a DOM node, …), as tabs.js does.
        this.#waiting.delete(id);
        reject(new MinibaseError('BAD_VALUE', `${type}: an argument cannot be sent to the engine's worker: ${err?.message ?? err}`, { cause: err }));
      }
    });
  }

  // Posts a message; with a channel the worker, which may be blocked
  // waiting on it, is kicked first to take it.
  #post(message, transfer = []) {
    if (!this.#shared) return this.#worker.postMessage(message, transfer);
    this.#chan.kick();
    try {
      this.#worker.postMessage(message, transfer);
    } catch (err) {
      this.#chan.unkick();
      throw err;
    }
  }

  // An engine call, as EXEC says: `{ reply, wrote, changes }`. A table write
  // or commit with an id runs in a once envelope (wasm/PROTOCOL.md), which
  // the page encodes itself; reads carry no record.
  #exec({ name, op, args, id, take }) {
    let request;
    try {
      const req = id && ONCE_OPS.has(op) ? encoder.encodeRequest('once', [...splitId(id), op, ...args]) : encoder.encodeRequest(op, args);
      request = req.slice(); // the encoder's buffer is reused: the call takes a copy of its own
    } catch (err) {
      return Promise.resolve({ reply: { error: plainError(toMinibaseError(err, op)) }, wrote: false, changes: null });
    }
    const rid = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#waiting.set(rid, { resolve: (d) => resolve(execReply(op, d)), reject });
      const seq = this.#shared ? this.#chan.send(request, [rid, name, op, id, take]) : 0;
      if (seq !== 0) this.#sharedAnswer(seq, rid);
      else this.#post([rid, name, op, id, request, take], request.length >= TRANSFER_MIN ? [request.buffer] : []);
    });
  }

  // The answer to call `rid`, sent through the channel as `seq`: from the
  // buffer, or by message when it did not fit (onmessage then has it).
  async #sharedAnswer(seq, rid) {
    const bytes = await this.#chan.answer(seq);
    if (!bytes) return; // by message; or the worker is lost, and the call failed with it
    const w = this.#waiting.get(rid);
    if (!w) return;
    this.#waiting.delete(rid);
    w.resolve([rid, ...decodeSharedAnswer(bytes)]);
  }
}

// The page's codec for the requests and answers of engine calls (used synchronously, one call at a time).
const encoder = new Encoder();
const decoder = new Decoder();

// An exec answer `[rid, answer, wrote, changes, sized]` as OpfsOwner takes it.
function execReply(op, [, answer, wrote, changes, sized]) {
  let reply;
  if (answer instanceof Uint8Array) {
    try {
      const result = decodeAnswer(decoder, op, answer, 0, answer.length, sized?.memoryBytes);
      if (op === 'stats' && result && typeof result === 'object' && sized?.files) Object.assign(result, sized.files);
      reply = { result };
    } catch (err) {
      reply = { error: plainError(toMinibaseError(err, op)) };
    }
  } else reply = { error: typeof answer?.code === 'string' ? answer : { code: 'INTERNAL', message: `${op}: malformed answer from the engine's worker` } };
  return { reply, wrote: wrote === true, changes: changes ?? null };
}

let client = null;
function workerOf(url, channel) {
  client ??= new WorkerClient(url, channel);
  return client;
}

// The engine's module as the worker takes it: a module as it is, a URL
// resolved against the page (the worker's own base is the library's).
const wasmForWorker = (wasm) => (wasm instanceof WebAssembly.Module || wasm === undefined ? wasm : String(new URL(String(wasm), globalThis.location?.href)));

/**
 * Starts the page's OPFS worker and its engine ahead of the first connect
 * (browser.js's preload); resolves once the engine runs.
 * @param {{ wasm?: unknown, reserveMB?: number, workerURL: string|URL, channel?: string }} options
 */
export function preloadOpfs({ wasm, reserveMB, workerURL, channel }) {
  return workerOf(workerURL, channel).start(wasmForWorker(wasm), reserveMB);
}

/** How many answered records of a tab the owner lets gather before the engine forgets them. */
const SETTLE_AFTER = 32;

/**
 * The owner side of an OPFS database (the Owner of tabs.js for IndexedDB):
 * runs calls in the OPFS worker. Answers of forwarded calls that wrote are
 * committed by the engine with their data (a once envelope); the owner keeps
 * those of its epoch in memory too, so that a resent one is answered without
 * asking the worker.
 */
export class OpfsOwner {
  #worker;
  #name;
  #durability;
  #options; // start's, to open the database again in a new worker
  #handles = new Set();
  #answers = new Map(); // call id → answer, of this epoch's forwarded calls that wrote (the engine has them too)
  #settled = new Map(); // tab → the floor its records were last settled below
  #made = new Map(); // tab → records this owner made for it since it last settled
  #own = new Set(); // numbers of the calls of this owner's own tab under way
  #ownTop = 0; // the highest of them
  #restarting = null;
  #watching = false; // a tab watches live queries: take the change feed after each call that wrote
  /** @type {((batch: object, from: string|null, sync: boolean) => void)|null} hears each committed batch (tabs.js) */
  onChanges = null;
  epoch = randomId();

  constructor(worker, name, durability, answers, options) {
    this.#worker = worker;
    this.#name = name;
    this.#durability = durability === 'strict' ? 'strict' : 'normal';
    this.#answers = new Map(answers);
    this.#options = options;
  }

  /**
   * Opens database `name` in the page's OPFS worker (starting it), and
   * checks its eviction marker as browser-idb.js does.
   * @param {string} name
   * @param {{ durability?: string, wasm?: unknown, reserveMB?: number, workerURL: string|URL }} options
   */
  static async start(name, { durability, wasm, reserveMB, workerURL, channel }) {
    const worker = workerOf(workerURL, channel);
    const opened = await worker.request('open', { name, wasm: wasmForWorker(wasm), reserveMB });
    const key = `opfs:${name}`;
    const remembered = witnessOf(key);
    let marker = opened.marker;
    if (!marker || (remembered !== null && remembered !== marker)) {
      // New, evicted or half there: a fresh marker (and no files unless it is new and empty).
      const evicted = remembered !== null || opened.hasFiles;
      marker = await worker.request('mark', { name, clear: evicted });
      if (evicted) opened.answers = [];
      setWitness(key, marker);
      if (evicted) storageEvents.dispatchEvent(new CustomEvent('evicted', { detail: { name, adapter: 'opfs', marker, previous: remembered } }));
    } else setWitness(key, marker);
    return new OpfsOwner(worker, name, durability, opened.answers, { durability, wasm, reserveMB, workerURL, channel });
  }

  // The worker died: once it is gone, the database opens in a new one, in a
  // new epoch (connections are opened again by the callers' bridges, as
  // after an owner change; transactions of the old one are TX_CLOSED).
  #restart() {
    this.#restarting ??= (async () => {
      try {
        await this.#worker.gone();
        const fresh = await OpfsOwner.start(this.#name, this.#options);
        this.#worker = fresh.#worker;
        this.#answers = fresh.#answers;
        this.#handles.clear();
        this.epoch = randomId();
      } finally {
        this.#restarting = null;
      }
    })();
    return this.#restarting;
  }

  // Tab `from` has its answers below `floor`. The engine is told the first
  // time a tab settles with this owner (it may hold records of a previous
  // owner's) and then once this owner made SETTLE_AFTER records for it:
  // forgetting is a commit of its own, not one per call.
  settle(from, floor) {
    if (typeof floor !== 'number') return;
    const last = this.#settled.get(from);
    if (last !== undefined && (floor <= last || (this.#made.get(from) ?? 0) < SETTLE_AFTER)) return;
    const ids = [];
    for (const id of this.#answers.keys()) {
      const [f, seq] = splitId(id);
      if (f === from && seq < floor) ids.push(id);
    }
    const handle = this.#handles.values().next().value;
    if (handle !== undefined) {
      this.#settled.set(from, floor);
      this.#made.set(from, 0);
    } else if (!ids.length) return; // no connection to tell the engine through: next time
    for (const id of ids) this.#answers.delete(id);
    this.#worker.request('forget', { name: this.#name, from, floor, handle, ids }).catch(() => {});
  }

  // The answer a resent call `id` committed with, or null.
  async #recorded(id) {
    const handle = this.#handles.values().next().value;
    const { reply, opened } = await this.#worker.request('recorded', { name: this.#name, id, handle, durability: this.#durability });
    if (opened !== undefined) this.#handles.add(opened); // closed with the others at shutdown
    if (reply) this.#answers.set(id, reply);
    return reply;
  }

  /**
   * Runs one call (tabs.js's Owner.exec). `id`: a forwarded call's; `ownId`:
   * the id of a call of this tab: a table write or commit runs under it too,
   * so that when the worker dies during it the record tells whether it
   * committed (other calls have no record to tell, and run without it).
   */
  async exec(epoch, op, args, id, ownId) {
    if (id || !ownId || !ONCE_OPS.has(op)) return this.#exec(epoch, op, args, id);
    const [from, seq] = splitId(ownId);
    this.#own.add(seq);
    this.#ownTop = Math.max(this.#ownTop, seq);
    try {
      return await this.#exec(epoch, op, args, ownId, false);
    } finally {
      this.#own.delete(seq);
      let floor = this.#ownTop + 1;
      for (const n of this.#own) floor = Math.min(floor, n);
      this.settle(from, floor);
    }
  }

  // cache: keep the answer for a resend (a forwarded call's).
  async #exec(epoch, op, args, id, cache = true) {
    if (this.#worker.lost) {
      try {
        await this.#restart();
      } catch (err) {
        return { error: plainError(toMinibaseError(err, op)) };
      }
    }
    const cached = id ? this.#answers.get(id) : undefined;
    if (cached) return { ...cached, epoch: this.epoch };
    if (epoch !== this.epoch) {
      // Made with an older owner's handles, so it does not run here; but a
      // forwarded one may have committed there: then its record answers it.
      // (One of this tab's own did not: a worker that died during it was
      // asked then, by #resolveLost.)
      if (id && cache) {
        try {
          const recorded = await this.#recorded(id);
          if (recorded) return { ...recorded, epoch: this.epoch };
        } catch (err) {
          return { error: plainError(toMinibaseError(err, op)) };
        }
      }
      return { stale: this.epoch };
    }
    if (op === 'open') args = [{ ...args[0], adapter: 'opfs', root: this.#name, durability: this.#durability }];
    // The feed is the owner's to take (in the worker, with the call) and broadcast.
    const own = ownerFeedAnswer(op, args);
    if (own) return { ...own, epoch: this.epoch };
    if (op === 'changesWatch') this.#watching = true;
    const take = this.#watching && this.onChanges ? this.#handles.values().next().value : undefined;
    let out;
    try {
      out = await this.#worker.request('exec', { name: this.#name, op, args, id, take });
    } catch (err) {
      const lost = toMinibaseError(err, op);
      if (lost.code === 'WORKER_LOST' && id && ONCE_OPS.has(op)) return this.#resolveLost(id, op, lost);
      return { error: plainError(lost) };
    }
    if (!out.reply.error) {
      if (op === 'open') this.#handles.add(out.reply.result);
      if (op === 'close') this.#handles.delete(args[0]);
    }
    if (id && out.wrote) {
      if (cache) this.#answers.set(id, out.reply);
      const from = splitId(id)[0];
      this.#made.set(from, (this.#made.get(from) ?? 0) + 1);
    }
    // Committed changes go to every tab before the caller's answer does.
    if (out.changes) this.onChanges?.(out.changes, id && cache ? splitId(id)[0] : null, op.startsWith('sync'));
    return { ...out.reply, epoch: this.epoch };
  }

  // The worker died during forwarded call `id`, which committed its answer
  // with its writes or left nothing: in a new worker, the record answers it,
  // or it is stale (made with handles that are gone) and its caller sends it
  // again, as after an owner change.
  async #resolveLost(id, op, lost) {
    try {
      await this.#restart();
      const recorded = await this.#recorded(id);
      return recorded ? { ...recorded, epoch: this.epoch } : { stale: this.epoch };
    } catch {
      return { error: plainError(lost) };
    }
  }

  /** Closes the engine's connections and the OPFS files; resolves once another context can open them. */
  async shutdown() {
    const handles = [...this.#handles];
    this.#handles.clear();
    await this.#restarting?.catch(() => {});
    if (this.#worker.lost) {
      // Its files go with it: the lock passes on once they have.
      await this.#worker.gone();
      return;
    }
    await this.#worker.request('release', { name: this.#name, handles }).catch(() => {});
  }
}
