// Many tabs, one database: the tab holding the Web Lock "minibase:<name>"
// owns the database's files and runs every call; the other tabs (and
// workers) of the origin forward their calls to it over the
// BroadcastChannel "minibase:<name>" and get the answers back. When the
// owner goes away its lock is released, the next tab in the lock's queue
// loads the files from IndexedDB, announces itself, and every call still
// unanswered is sent again to it.
//
// Handles (connections, transactions, stores) are virtual on the calling
// side: an owner change, or the reload after a failed IndexedDB commit,
// starts a new "epoch"; connections and stores are reopened transparently
// in the new one, transactions of the old one fail with TX_CLOSED.

import { MinibaseError, toMinibaseError } from './errors.js';
import { FileStore, idbHost, storageEvents } from './browser-idb.js';
import { deliverChanges, hasChanges, ownerFeedAnswer } from './live.js';
import { CLOSE_OPS, OPENS, SYNC_WRITE_OPS, TX_OPS } from './ops.gen.js';

const randomId = () =>
  globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

const splitId = (id) => {
  const at = id.lastIndexOf(':');
  return [id.slice(0, at), Number(id.slice(at + 1))];
};

// How long after a database was opened its owner starts the merges due:
// opening and the first queries come first.
const OPEN_COMPACT_DELAY_MS = 1000;

const plainError = (err) => ({ code: err?.code ?? 'INTERNAL', message: err?.message ?? String(err) });
const fromPlain = (e) => new MinibaseError(e.code, e.message);

/**
 * Runs calls on this tab's engine for one database: the owner side. After
 * every call that changed files it commits them to IndexedDB before the
 * caller's promise resolves.
 */
export class Owner {
  #bridge;
  #store;
  #name;
  #durability;
  #handles = new Set(); // engine connection handles opened on this database
  #recorded = new Map(); // calling tab's id → Set of its call numbers with a recorded answer
  #ready = Promise.resolve(); // settles when a reload after a failed commit is done
  #reloading = false;
  #watching = false; // a tab watches live queries: take the change feed after each call
  #merging = null; // the promise of the compaction loop while it runs (#compact)
  #behind = false; // the last step said the store has more runs than it should: writes wait
  #caughtUp = []; // resolvers of writes waiting for that to end
  /** @type {((batch: object, from: string|null, sync: boolean) => void)|null} hears each committed batch (live.js); sync: a sync client's step wrote it */
  onChanges = null;
  epoch = randomId();

  /**
   * @param {import('./bridge.js').Bridge} bridge the engine
   * @param {FileStore} store the database's files, loaded
   * @param {string} name
   * @param {'normal'|'strict'} durability
   */
  constructor(bridge, store, name, durability) {
    this.#bridge = bridge;
    this.#store = store;
    this.#name = name;
    this.#durability = durability === 'strict' ? 'strict' : 'relaxed';
    idbHost.stores.set(name, store);
    for (const id of store.answerIds()) this.#noteRecorded(id);
  }

  #noteRecorded(id) {
    const [from, seq] = splitId(id);
    let set = this.#recorded.get(from);
    if (!set) this.#recorded.set(from, (set = new Set()));
    set.add(seq);
  }

  /** Tab `from` has the answers of all its calls numbered below `floor`: forget their records. */
  settle(from, floor) {
    const set = this.#recorded.get(from);
    if (!set || typeof floor !== 'number') return;
    for (const seq of set) {
      if (seq < floor) {
        set.delete(seq);
        this.#store.forgetAnswer(`${from}:${seq}`);
      }
    }
    if (set.size === 0) this.#recorded.delete(from);
  }

  /**
   * Runs one engine call. Answers `{ stale: epoch }` when the call was made
   * with handles of another epoch (nothing ran), else `{ result, epoch }` or
   * `{ error, epoch }`. A forwarded call (`id` given) that wrote has its
   * answer recorded in the same IndexedDB transaction as its files: when it
   * comes again (its answer was lost with a previous owner) the record
   * answers and nothing runs twice.
   */
  async exec(epoch, op, args, id) {
    await this.#ready;
    const recorded = id ? this.#store.answerOf(id) : undefined;
    if (recorded) return recorded;
    if (epoch !== this.epoch) return { stale: this.epoch };
    if (op === 'open' && this.#handles.size === 0 && !this.#store.loaded) {
      // Every connection was closed, so the engine let go of its mirror: read
      // the files again (after the last commits landed) for the new one.
      await this.#store.flush(this.#durability).catch(() => {});
      await this.#store.load();
    }
    if (op === 'open') args = [{ ...args[0], adapter: 'indexeddb', root: this.#name, durability: this.#durability === 'strict' ? 'strict' : 'normal' }];
    // The feed is the owner's to take (below) and broadcast.
    const own = ownerFeedAnswer(op, args);
    if (own) return { ...own, epoch: this.epoch };
    if (op === 'changesWatch') this.#watching = true;
    if (this.#behind && SYNC_WRITE_OPS.has(op)) {
      // Merges are behind the writes (more runs than reads should consult):
      // a new write waits for them, as Pebble stalls writes; no write
      // already made waits for its acknowledgement.
      await new Promise((resolve) => this.#caughtUp.push(resolve));
    }
    let result;
    let error = null;
    try {
      // A call that read chunks not loaded yet runs again once they are (browser-idb.js).
      result = await this.#store.run(() => this.#bridge.call(op, ...args), { opening: op === 'open' });
      if (op === 'open') this.#handles.add(result);
      if (op === 'close') this.#handles.delete(args[0]);
    } catch (err) {
      error = toMinibaseError(err, op);
    }
    const reply = error ? { error: plainError(error), epoch: this.epoch } : { result, epoch: this.epoch };
    const wrote = this.#store.dirty;
    if (this.#store.dirty) {
      if (id) {
        this.#store.recordAnswer(id, reply);
        this.#noteRecorded(id);
      }
      try {
        await this.#store.flush(this.#durability);
      } catch (err) {
        // The engine holds commits IndexedDB did not take: throw that state
        // away and reload the files, so the database is what was acknowledged.
        if (!this.#reloading) this.#ready = this.#reload();
        return { error: plainError(err) };
      }
    }
    if (wrote && this.#watching && this.onChanges) this.#takeChanges(id ? splitId(id)[0] : null, op.startsWith('sync'));
    // After a write, and after opening (merges a closed tab left due or
    // half done; later, once the first reads had their turn).
    if ((wrote || op === 'open') && !this.#merging) this.#merging = this.#compact(op === 'open' ? OPEN_COMPACT_DELAY_MS : 0);
    return reply;
  }

  /**
   * Merges segment runs in steps (the engine's compactStep op) after a call
   * that wrote, each step its own call bounded by the chunk budget and
   * committed on its own, until no merge is due: merges of any size finish,
   * within the budget, and a write's acknowledgement never waits for one.
   * Other calls run between the steps.
   */
  async #compact(delay) {
    this.#store.compacting = true;
    let idle = 0; // steps in a row that stopped at chunks and loaded none
    try {
      // The caller's answer first: the steps come after it.
      await new Promise((resolve) => setTimeout(resolve, delay));
      for (;;) {
        await this.#ready;
        const h = this.#handles.values().next().value;
        if (h === undefined) break;
        const loads = this.#store.stats().chunkLoads;
        let step;
        try {
          step = await this.#store.run(() => this.#bridge.call('compactStep', h), { merging: true });
        } catch {
          break; // a failed step dropped its merge; the next write starts again
        }
        const wroteStep = this.#store.dirty;
        if (wroteStep) {
          try {
            await this.#store.flush(this.#durability);
          } catch {
            if (!this.#reloading) this.#ready = this.#reload();
            break;
          }
        }
        this.#setBehind(Boolean(step?.behind));
        if (!step?.more) break;
        idle = this.#store.stats().chunkLoads === loads && !wroteStep ? idle + 1 : 0;
        if (idle > 2) break; // no progress possible now (cannot happen, but never spin)
        // Let the calls waiting run between steps.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } finally {
      this.#store.compacting = false;
      this.#merging = null;
      this.#setBehind(false);
    }
  }

  #setBehind(behind) {
    this.#behind = behind;
    if (behind) return;
    for (const resolve of this.#caughtUp.splice(0)) resolve();
  }

  // Committed (and, above, flushed) changes go to every tab before the
  // caller's answer does.
  #takeChanges(from, sync) {
    const h = this.#handles.values().next().value;
    if (h === undefined) return;
    let batch;
    try {
      batch = this.#bridge.call('changesTake', h, true); // with rows: a tab may read the feed itself
    } catch {
      return;
    }
    if (hasChanges(batch)) this.onChanges(batch, from, sync);
  }

  async #reload() {
    this.#reloading = true;
    try {
      this.epoch = randomId();
      for (const h of this.#handles) {
        try {
          this.#bridge.call('close', h);
        } catch {
          // closing a connection whose state is being discarded
        }
      }
      this.#handles.clear();
      this.#store.discard();
      // Later commits were chained after the failed one and fail with it;
      // wait for them before reading the files back.
      await this.#store.flush().catch(() => {});
      await this.#store.load();
    } finally {
      this.#reloading = false;
    }
  }

  /** Closes every engine connection (the tab is going away or releasing the lock). */
  shutdown() {
    for (const h of this.#handles) {
      try {
        this.#bridge.call('close', h);
      } catch {}
    }
    this.#handles.clear();
    idbHost.stores.delete(this.#name);
    this.#store.close();
  }
}

/**
 * One database as seen from one tab: takes ownership when it can, forwards
 * calls to the owner otherwise.
 */
export class Coordinator {
  #name;
  #options;
  #id = randomId();
  #channel = null;
  #owner = null; // Owner, while this tab owns the database
  #ownerId = null; // the owning tab's id, when it is another tab
  #ownerEpoch = null;
  #waiting = []; // resolvers of calls waiting for an owner
  #inflight = new Map(); // request id → { resolve, to }
  #seq = 0;
  #unanswered = new Set(); // numbers of this tab's calls without an answer yet
  #release = null; // resolves the held lock's callback
  #failure = null; // why this database cannot be used in this tab
  #ownedPromise = null;
  #onEvicted = null;
  #shutDown = null; // resolves close()'s promise once the owner shut down

  /**
   * @param {string} name
   * @param {{ durability?: string, engine: () => Promise<import('./bridge.js').Bridge>, locks?: LockManager|null,
   *   owner?: () => Promise<{ epoch: string, exec: Function, settle: Function, shutdown: Function }>,
   *   residentBytes?: number }} options
   *   owner: how this tab becomes the owner when it is not the IndexedDB Owner (the OPFS worker's)
   */
  constructor(name, options) {
    this.#name = name;
    this.#options = options;
  }

  get isOwner() {
    return this.#owner !== null;
  }

  /** Starts taking part: joins the channel and queues for the lock. Resolves once calls can be made. */
  async start() {
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(`minibase:${this.#name}`);
      this.#channel.onmessage = (e) => this.#onMessage(e.data);
      // The owner found the database evicted: the other tabs hear it too.
      this.#onEvicted = (e) => {
        const key = e.detail?.adapter === 'opfs' ? `opfs:${e.detail.name}` : e.detail?.name;
        if (key === this.#name && !e.detail.remote) this.#channel?.postMessage({ type: 'evicted', detail: e.detail });
      };
      storageEvents.addEventListener('evicted', this.#onEvicted);
    }
    const locks = this.#options.locks === undefined ? globalThis.navigator?.locks : this.#options.locks;
    if (locks?.request) {
      let owned;
      this.#ownedPromise = new Promise((resolve) => (owned = resolve));
      locks
        .request(`minibase:${this.#name}`, async () => {
          try {
            await this.#becomeOwner();
          } catch (err) {
            this.#fail(toMinibaseError(err, `open ${this.#name}`));
            owned();
            return;
          }
          owned();
          await new Promise((resolve) => (this.#release = resolve));
          // The lock goes only once the files are let go (OPFS: the worker's access handles).
          try {
            await this.#owner?.shutdown();
          } finally {
            this.#owner = null;
            this.#shutDown?.();
          }
        })
        .catch((err) => this.#fail(toMinibaseError(err, `lock ${this.#name}`)));
      this.#channel?.postMessage({ type: 'who' });
      // Wait until either this tab owns the database or an owner answered.
      await Promise.race([this.#ownedPromise, new Promise((resolve) => this.#waiting.push(resolve))]);
      if (this.#failure) throw this.#failure;
      return;
    }
    // No Web Locks: exclusive open. Ask whether another tab owns it.
    if (this.#channel) {
      this.#channel.postMessage({ type: 'who' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (this.#ownerId) {
        throw new MinibaseError('LOCKED', `database ${this.#name} is open in another tab, and this browser has no Web Locks to share it`);
      }
    }
    await this.#becomeOwner();
  }

  /** @type {((batch: object, source: 'local'|'tab') => void)|null} hears committed changes (ClientBridge) */
  onChanges = null;

  async #becomeOwner() {
    if (this.#options.owner) this.#owner = await this.#options.owner();
    else {
      const [bridge, store] = await Promise.all([this.#options.engine(), FileStore.open(this.#name, undefined, { residentBytes: this.#options.residentBytes })]);
      this.#owner = new Owner(bridge, store, this.#name, this.#options.durability);
    }
    this.#owner.onChanges = (batch, from, sync) => {
      this.#channel?.postMessage({ type: 'changes', batch, from, sync });
      this.onChanges?.(batch, sync ? 'sync' : from === null || from === this.#id ? 'local' : 'tab');
    };
    this.#ownerId = this.#id;
    this.#announce();
    // Calls sent to a previous owner that never answered go again, here.
    for (const [id, w] of this.#inflight) {
      this.#inflight.delete(id);
      w.resolve({ retry: true });
    }
    this.#wake();
  }

  #announce() {
    this.#channel?.postMessage({ type: 'owner', id: this.#id, epoch: this.#owner?.epoch });
  }

  #wake() {
    const w = this.#waiting;
    this.#waiting = [];
    for (const resolve of w) resolve();
  }

  #fail(err) {
    this.#failure ??= err;
    this.#wake();
  }

  async #onMessage(msg) {
    if (!msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'who':
        if (this.#owner) this.#announce();
        return;
      case 'owner':
        if (msg.id === this.#id) return;
        this.#ownerEpoch = msg.epoch ?? this.#ownerEpoch;
        if (this.#ownerId !== msg.id) {
          this.#ownerId = msg.id;
          // Requests to the previous owner will never be answered: send them again.
          for (const [id, w] of this.#inflight) {
            if (w.to !== msg.id) {
              this.#inflight.delete(id);
              w.resolve({ retry: true });
            }
          }
        }
        this.#wake();
        return;
      case 'changes':
        this.onChanges?.(msg.batch, msg.sync ? 'sync' : msg.from === this.#id ? 'local' : 'tab');
        return;
      case 'req': {
        if (msg.to !== this.#id) return;
        if (!this.#owner) {
          this.#channel.postMessage({ type: 'res', id: msg.id, to: msg.from, reply: { retry: true } });
          return;
        }
        this.#owner.settle(msg.from, msg.floor);
        let reply;
        try {
          reply = await this.#owner.exec(msg.epoch, msg.op, msg.args, msg.id);
        } catch (err) {
          // The asking tab waits for exactly this answer: a failure that
          // escaped exec (the files could not be read again, say) must reach
          // it as an error, or its call would never settle.
          reply = { error: plainError(toMinibaseError(err, msg.op)) };
        }
        this.#channel?.postMessage({ type: 'res', id: msg.id, to: msg.from, reply });
        return;
      }
      case 'evicted':
        storageEvents.dispatchEvent(new CustomEvent('evicted', { detail: { ...msg.detail, remote: true } }));
        return;
      case 'res': {
        if (msg.to !== this.#id) return;
        const w = this.#inflight.get(msg.id);
        if (!w) return;
        this.#inflight.delete(msg.id);
        w.resolve(msg.reply);
        return;
      }
    }
  }

  /** The epoch calls are checked against: the local owner's, or the last one the remote owner reported. */
  epoch() {
    return this.#owner ? this.#owner.epoch : this.#ownerEpoch;
  }

  /**
   * Sends one call to the owner, waiting for one when there is none.
   * @returns {Promise<{ result?: unknown, error?: object, stale?: string, retry?: boolean }>}
   */
  async send(epoch, op, args) {
    const seq = ++this.#seq;
    const id = `${this.#id}:${seq}`;
    let forwarded = false; // once sent to another tab, the call may have run there
    this.#unanswered.add(seq);
    try {
      return await this.#send(epoch, op, args, id, () => (forwarded = true), () => forwarded);
    } finally {
      this.#unanswered.delete(seq);
    }
  }

  async #send(epoch, op, args, id, markForwarded, wasForwarded) {
    for (;;) {
      if (this.#failure) throw this.#failure;
      // ownId: the call's id when this tab runs it itself (an OPFS owner runs
      // it under it, so that it survives its worker dying; opfs-worker.js).
      if (this.#owner) return this.#owner.exec(epoch, op, args, wasForwarded() ? id : undefined, id);
      if (this.#ownerId && this.#channel) {
        const to = this.#ownerId;
        markForwarded();
        let floor = this.#seq + 1;
        for (const n of this.#unanswered) floor = Math.min(floor, n);
        const reply = await new Promise((resolve, reject) => {
          this.#inflight.set(id, { resolve, to });
          try {
            this.#channel.postMessage({ type: 'req', id, from: this.#id, to, epoch, op, args, floor });
          } catch (err) {
            // Structured clone refused an argument (a function, a DOM node, …).
            this.#inflight.delete(id);
            reject(new MinibaseError('BAD_VALUE', `${op}: an argument cannot be sent to the tab that owns the database: ${err?.message ?? err}`, { cause: err }));
          }
        });
        if (reply.retry) {
          // That tab no longer owns the database: wait for the next owner's announcement.
          if (this.#ownerId === to) this.#ownerId = null;
          continue;
        }
        if (reply.stale !== undefined) this.#ownerEpoch = reply.stale;
        return reply;
      }
      await new Promise((resolve) => this.#waiting.push(resolve));
    }
  }

  /**
   * Gives up ownership (and the lock) and leaves the channel. Resolves once
   * this tab let go of the database's files (at once when it did not own it).
   */
  close() {
    const done = this.#release ? new Promise((resolve) => (this.#shutDown = resolve)) : Promise.resolve();
    this.#release?.();
    this.#release = null;
    this.#channel?.close();
    this.#channel = null;
    if (this.#onEvicted) storageEvents.removeEventListener('evicted', this.#onEvicted);
    if (!this.#ownedPromise) this.#owner?.shutdown();
    return done;
  }
}

/**
 * The bridge the API (api.js) talks to for an IndexedDB database: maps the
 * API's virtual handles to the owner's, reopening connections, stores and
 * sync sessions after an owner change. Every call returns a promise.
 */
export class ClientBridge {
  #coord;
  #handles = new Map(); // virtual handle → { kind, epoch, real, args, conn }
  #next = 0;
  #watching = false; // live queries asked for the change feed (live.js)
  #watchEpoch = null;
  /** Committed changes arrive from the owner (Coordinator.onChanges), not by taking them after each call. */
  pushesChanges = true;

  /** @param {Coordinator} coord */
  constructor(coord) {
    this.#coord = coord;
    coord.onChanges = (batch, source) => deliverChanges(this, batch, source);
  }

  /**
   * @param {string} op
   * @param {...unknown} args
   */
  async call(op, ...args) {
    for (let attempt = 0; attempt < 8; attempt++) {
      const epoch = this.#coord.epoch();
      let real;
      try {
        real = await this.#translate(op, args, epoch);
      } catch (err) {
        if (err === STALE) continue;
        throw err;
      }
      if (CLOSE_OPS.has(op) && real === null) return null;
      const reply = await this.#coord.send(epoch, op, real);
      if (reply.stale !== undefined) continue;
      if (op === 'changesWatch' && args[1] === true) {
        this.#watching = true;
        this.#watchEpoch = reply.epoch ?? epoch;
      }
      if (reply.error) {
        if (op === 'commit' || op === 'rollback') this.#handles.delete(args[1]);
        throw fromPlain(reply.error);
      }
      return this.#adopt(op, args, reply.result, reply.epoch ?? epoch);
    }
    throw new MinibaseError('INTERNAL', `${op}: the database kept changing owner; try again`);
  }

  // Real handles for the virtual ones in args, (re)opening connections and
  // stores of another epoch.
  async #translate(op, args, epoch) {
    if (op === 'open') return args;
    const out = args.slice();
    const h = this.#handles.get(args[0]);
    if (!h) throw new MinibaseError('CLOSED', `${op}: unknown handle`);
    if (CLOSE_OPS.has(op)) {
      this.#handles.delete(args[0]);
      if (op === 'close') {
        // The engine closes a connection's stores with it (PROTOCOL.md, "Storage").
        for (const [vh, s] of this.#handles) if ((s.kind === 'store' || s.kind === 'sync') && s.conn === args[0]) this.#handles.delete(vh);
      }
      if (h.epoch !== epoch) return null; // nothing open in this epoch
    }
    out[0] = await this.#realOf(h, epoch);
    if (TX_OPS.has(op) && args[1]) {
      const tx = this.#handles.get(args[1]);
      if (!tx || tx.epoch !== epoch) {
        this.#handles.delete(args[1]);
        throw new MinibaseError('TX_CLOSED', `${op}: the transaction was lost when the database changed owner or reloaded after a failed commit`);
      }
      out[1] = tx.real;
    }
    if (op === 'commit' || op === 'rollback') this.#handles.delete(args[1]);
    return out;
  }

  async #realOf(h, epoch) {
    if (h.epoch === epoch) return h.real;
    if (h.kind === 'tx') {
      throw new MinibaseError('TX_CLOSED', 'the transaction was lost when the database changed owner');
    }
    if (h.kind === 'job') {
      throw new MinibaseError('CLOSED', 'the backup, import or restore was lost when the database changed owner; start it again');
    }
    // Calls made together on a handle of an older epoch share one reopen,
    // rather than each opening (and leaking) a handle of its own.
    if (h.reopening?.epoch !== epoch) {
      const promise = this.#reopen(h, epoch);
      h.reopening = { epoch, promise };
      promise.then(
        () => h.reopening?.promise === promise && delete h.reopening,
        () => h.reopening?.promise === promise && delete h.reopening,
      );
    }
    return h.reopening.promise;
  }

  async #reopen(h, epoch) {
    let reply;
    if (h.kind === 'conn') reply = await this.#coord.send(epoch, 'open', h.args);
    else {
      // A store or a sync session: reopened on its connection's new handle.
      const conn = this.#handles.get(h.conn);
      if (!conn) throw new MinibaseError('CLOSED', `the ${h.kind === 'store' ? 'storage' : 'sync session'}'s connection is closed`);
      const real = await this.#realOf(conn, epoch);
      reply = await this.#coord.send(epoch, h.kind === 'store' ? 'storageOpen' : 'syncOpen', [real, ...h.args]);
      // A pinned clock (storage.setClock, tests) is the store's state: pin it again.
      if (!reply.error && reply.stale === undefined && h.clock !== undefined) {
        const r = await this.#coord.send(epoch, 'storageSetClock', [reply.result, h.clock]);
        if (r.stale !== undefined) throw STALE;
      }
    }
    if (reply.stale !== undefined) throw STALE;
    if (reply.error) throw fromPlain(reply.error);
    h.epoch = epoch;
    h.real = h.kind === 'sync' ? reply.result.handle : reply.result;
    if (h.kind === 'conn' && this.#watching && this.#watchEpoch !== epoch) {
      // A new owner (or a reload): its engine has no feed yet, and changes
      // made meanwhile were never heard, so every live query runs again.
      this.#watchEpoch = epoch;
      await this.#coord.send(epoch, 'changesWatch', [h.real, true]);
      deliverChanges(this, { changes: [], schema: false, overflow: true }, 'tab');
    }
    return h.real;
  }

  #adopt(op, args, result, epoch) {
    if (op === 'storageSetClock') {
      const h = this.#handles.get(args[0]);
      if (h) h.clock = args[1];
    }
    // What the result is a handle of (wasm/bridge/registry.go): a job is a
    // backup, import or restore under way (backup.js).
    const opens = OPENS.get(op);
    if (opens === undefined) return result;
    let kind = { kind: opens };
    if (opens === 'conn') kind = { kind: opens, args };
    else if (opens === 'store' || opens === 'sync') kind = { kind: opens, conn: args[0], args: args.slice(1) };
    const vh = ++this.#next;
    if (kind.kind === 'sync') {
      // syncOpen answers { handle, client }: the handle is what gets virtual.
      this.#handles.set(vh, { ...kind, epoch, real: result.handle });
      return { ...result, handle: vh };
    }
    this.#handles.set(vh, { ...kind, epoch, real: result });
    return vh;
  }
}

const STALE = Symbol('stale');
