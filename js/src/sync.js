// Offline sync: `conn.sync(options)`. The state machine lives in
// Go (engine/replica, bridge ops `sync*`, see wasm/bridge/sync.go): which
// changes to push, what a push answer retires, how a pulled page and its
// cursor commit together, conflict policies, dead letters. This file only
// moves bytes between the engine and the server (server/PROTOCOL.md) with
// the host's fetch, schedules rounds, and turns reports into events.

import { MinibaseError } from './errors.js';

const POLICIES = new Set(['lww', 'server-wins', 'client-wins', 'merge-fields']);
const EVENTS = new Set(['change', 'conflict', 'error', 'status', 'progress']);
const MAX_PAGES = 100000; // bounds one round's loops (1000 changes a page at most)

/**
 * An AbortController, or where the runtime has none (a mini-program's logic
 * layer) the part of one that this file and wx-request.js use: abort(),
 * signal.aborted and signal.addEventListener('abort', fn). Such a runtime
 * has no fetch either, so this signal only ever reaches wx-request.js.
 */
function abortController() {
  if (typeof AbortController === 'function') return new AbortController();
  let listeners = [];
  const signal = {
    aborted: false,
    addEventListener(type, fn) {
      if (type === 'abort' && !signal.aborted) listeners.push(fn);
    },
    removeEventListener(type, fn) {
      listeners = listeners.filter((l) => l !== fn);
    },
  };
  return {
    signal,
    abort() {
      if (signal.aborted) return;
      signal.aborted = true;
      const fns = listeners;
      listeners = [];
      for (const fn of fns) fn();
    },
  };
}

/** A failed request: the server's error body, or a network failure (status 0). */
function syncError(status, body, cause) {
  const e = body?.error;
  const code = e?.code ?? (status === 0 ? 'NETWORK' : `HTTP_${status}`);
  const err = new MinibaseError(code, `sync: ${e?.message || (status === 0 ? String(cause?.message ?? cause) : `HTTP ${status}`)}`, { cause });
  err.status = status;
  return err;
}

/**
 * The delay before retry number `failures` (1, 2, …): exponential from min,
 * capped at max, with "equal jitter" (between half the step and the whole
 * step) so that many clients coming back at once spread out.
 * @param {number} failures consecutive failures so far (≥ 1)
 * @param {{ min: number, max: number }} bounds
 * @param {() => number} [random] a number in [0, 1)
 */
export function backoffDelay(failures, { min, max }, random = Math.random) {
  const ceil = Math.min(max, min * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.round(ceil / 2 + (random() * ceil) / 2);
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * One sync session of a connection's current database.
 */
export class Sync {
  #call; // (op, ...args) => result, a bridge call on this session's handle
  #open; // opens the engine side once: () => { handle, client }
  #handle = 0;
  #opening = null;
  #opts;
  #merge = null;
  #listeners = new Map();
  #running = null; // the round in progress
  #again = false; // a write landed during a round: run another
  #timer = null;
  #abort = null; // realtime stream
  #started = null;
  #failures = 0;
  #closed = false;
  #state = { online: false, lastSuccess: null, lastError: null };
  /** The client id of this database (its origin in the protocol), once opened. */
  client = null;

  /** @internal use `conn.sync(options)` */
  constructor(call, open, options) {
    const o = options ?? {};
    if (typeof o.url !== 'string' || o.url === '') throw new MinibaseError('BAD_QUERY', 'sync: options.url is required');
    const conflict = o.conflict ?? 'lww';
    if (typeof conflict === 'function') this.#merge = conflict;
    else if (!POLICIES.has(conflict)) {
      throw new MinibaseError('BAD_QUERY', `sync: unknown conflict policy ${JSON.stringify(conflict)} (lww, server-wins, client-wins, merge-fields or a function)`);
    }
    // The host's fetch is bound to globalThis: browsers refuse it called as
    // a method of another object ("Illegal invocation").
    const fetchFn = o.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof fetchFn !== 'function') throw new MinibaseError('BAD_QUERY', 'sync: no fetch in this host; pass options.fetch');
    this.#opts = {
      url: o.url.replace(/\/+$/, ''),
      tables: o.tables ?? null,
      policy: this.#merge ? 'custom' : conflict,
      auth: o.auth ?? null,
      fetch: fetchFn,
      customFetch: o.fetch !== undefined,
      batchSize: Math.min(Math.max(o.batchSize ?? 500, 1), 1000),
      pullLimit: Math.min(Math.max(o.pullLimit ?? 500, 1), 1000),
      onProgress: o.onProgress ?? null,
      backoff: { min: o.backoff?.min ?? 1000, max: o.backoff?.max ?? 60000 },
    };
    this.#call = call;
    this.#open = open;
  }

  // One engine step. Bridge calls may return promises (IndexedDB), so
  // every step is awaited.
  async #engine(op, ...args) {
    if (this.#closed) throw new MinibaseError('CLOSED', `${op}: the sync session is closed`);
    this.#opening ??= Promise.resolve(this.#open({ tables: this.#opts.tables, policy: this.#opts.policy })).then((r) => {
      this.#handle = r.handle;
      this.client = r.client;
    });
    await this.#opening;
    return this.#call(op, this.#handle, ...args);
  }

  /**
   * Subscribes to 'change' (a row another device changed, applied here),
   * 'conflict', 'error', 'status' or 'progress'.
   * @returns {() => void} unsubscribes
   */
  on(event, fn) {
    if (!EVENTS.has(event)) throw new MinibaseError('BAD_QUERY', `sync.on: unknown event ${JSON.stringify(event)}`);
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(fn);
    return () => this.#listeners.get(event)?.delete(fn);
  }

  #emit(event, payload) {
    for (const fn of this.#listeners.get(event) ?? []) {
      try {
        fn(payload);
      } catch (err) {
        if (event !== 'error') this.#emit('error', err);
      }
    }
  }

  async #token() {
    const a = this.#opts.auth;
    return typeof a === 'function' ? await a() : a;
  }

  // One HTTP request: { status, text } (status 0 when the network failed).
  async #request(method, path, body, signal) {
    const headers = {};
    const token = await this.#token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await this.#opts.fetch(this.#opts.url + path, { method, headers, body, signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw syncError(0, null, err);
    }
    return { status: res.status, text: await res.text(), res };
  }

  #report(rep) {
    for (const c of rep.changes) this.#emit('change', c);
    for (const c of rep.conflicts) this.#emit('conflict', c);
    for (const e of rep.errors) this.#emit('error', new MinibaseError('SYNC_APPLY', `sync: a received change to ${e.table} could not be applied: ${e.message}`));
  }

  async #push() {
    for (let i = 0; i < MAX_PAGES; i++) {
      const body = await this.#engine('syncNextPush', this.#opts.batchSize);
      if (body === null) return;
      const r = await this.#request('POST', '/v1/push', body);
      if (r.status === 422) {
        // An app too old for the server: no op is at fault, so none goes
        // to the dead letters; the push fails until the app is updated.
        const body = parse(r.text);
        if (body?.error?.code === 'SCHEMA_TOO_OLD') throw syncError(r.status, body);
        await this.#engine('syncReject', r.text);
        continue;
      }
      if (r.status !== 200) throw syncError(r.status, parse(r.text));
      this.#report(await this.#engine('syncAckPush', r.text));
    }
  }

  async #pull() {
    let resynced = false;
    let pulled = 0;
    const tables = this.#opts.tables ? `&tables=${encodeURIComponent(this.#opts.tables.join(','))}` : '';
    for (let i = 0; i < MAX_PAGES; i++) {
      const since = await this.#engine('syncCursor');
      const r = await this.#request('GET', `/v1/pull?since=${since}&limit=${this.#opts.pullLimit}${tables}`);
      const body = r.status === 200 ? null : parse(r.text);
      if (r.status === 410 && body?.error?.code === 'RESYNC_REQUIRED' && !resynced) {
        resynced = true;
        await this.#engine('syncResync');
        continue;
      }
      if (r.status !== 200) throw syncError(r.status, body);
      const rep = await this.#engine('syncApplyPull', r.text);
      this.#report(rep);
      pulled += rep.pulled;
      if (rep.pulled > 0) {
        const p = { pulled };
        this.#opts.onProgress?.(p);
        this.#emit('progress', p);
      }
      if (!parse(r.text)?.more) {
        this.#report(await this.#engine('syncFinish'));
        return;
      }
    }
  }

  async #resolveConflicts() {
    const list = await this.#engine('syncConflicts');
    for (const c of list) {
      const merged = await this.#merge(c.local, c.remote, c.base);
      await this.#engine('syncResolve', c.id, merged ?? null);
    }
    return list.length;
  }

  async #round() {
    try {
      await this.#push();
      await this.#pull();
      if (this.#merge && (await this.#resolveConflicts()) > 0) await this.#push();
      this.#failures = 0;
      this.#state = { online: true, lastSuccess: Date.now(), lastError: null };
      this.#emit('status', await this.status());
    } catch (err) {
      this.#failures++;
      const online = !(err instanceof MinibaseError && err.code === 'NETWORK');
      this.#state = { ...this.#state, online, lastError: err };
      this.#emit('error', err);
      this.#emit('status', await this.status().catch(() => ({ ...this.#state, pending: null })));
      throw err;
    }
  }

  /**
   * Pushes every pending change in order, then pulls what others wrote.
   * Concurrent calls share the round in progress (and one more runs when a
   * write landed meanwhile).
   * @returns {Promise<void>}
   */
  now() {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = async () => {
      try {
        do {
          this.#again = false;
          await this.#round();
        } while (this.#again);
      } finally {
        this.#running = null;
      }
    };
    this.#running = run();
    return this.#running;
  }

  /** @internal called by the connection after each write while started */
  notifyWrite() {
    if (!this.#started || this.#closed) return;
    if (this.#running) this.#again = true;
    else if (this.#failures === 0) this.#schedule(0); // while backing off, the retry timer stands
  }

  #schedule(ms) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), ms);
  }

  async #tick() {
    if (!this.#started) return;
    let next = this.#started.interval;
    try {
      await this.now();
    } catch {
      next = backoffDelay(this.#failures, this.#opts.backoff);
    }
    if (this.#started) this.#schedule(next);
  }

  /**
   * Syncs now and then every `interval` ms (default 30000), after each
   * local write, and — with `realtime` — as soon as the server announces a
   * change (server-sent events read through fetch, or long-polls).
   */
  start(options) {
    const interval = options?.interval ?? 30000;
    let realtime = options?.realtime ?? false;
    // A host fetch streams (SSE); a custom one (wx.request) may deliver a
    // response only once it ends, so it long-polls unless told 'sse'.
    if (realtime === true) realtime = this.#opts.customFetch ? 'poll' : 'sse';
    if (realtime !== false && realtime !== 'sse' && realtime !== 'poll') {
      throw new MinibaseError('BAD_QUERY', `sync.start: realtime must be true, false, 'sse' or 'poll'`);
    }
    this.stop();
    this.#started = { interval, realtime };
    this.#schedule(0);
    if (realtime) this.#realtime(realtime);
  }

  /** Stops the timer and the realtime stream; a round in progress finishes. */
  stop() {
    this.#started = null;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#abort?.abort();
    this.#abort = null;
  }

  // Keeps a notice stream open while started; reconnects with backoff.
  async #realtime(mode) {
    const ctl = abortController();
    this.#abort = ctl;
    let failures = 0;
    for (let i = 0; i < 1e9 && this.#abort === ctl; i++) {
      try {
        if (mode === 'poll') await this.#longPoll(await this.#engine('syncCursor'), ctl.signal);
        else await this.#listen(ctl.signal);
        failures = 0;
      } catch (err) {
        if (ctl.signal.aborted) return;
        failures++;
        this.#emit('error', err);
      }
      if (ctl.signal.aborted) return;
      await new Promise((resolve) => {
        const t = setTimeout(resolve, failures ? backoffDelay(failures, this.#opts.backoff) : 0);
        ctl.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
      });
    }
  }

  // One notice stream: SSE over fetch when the response body streams,
  // otherwise one long-poll. Resolves when the server ends it.
  async #listen(signal) {
    const since = await this.#engine('syncCursor');
    const r = await this.#opts.fetch(this.#opts.url + '/v1/events', {
      method: 'GET',
      headers: { Authorization: `Bearer ${await this.#token()}`, Accept: 'text/event-stream' },
      signal,
    }).catch((err) => {
      if (signal.aborted) throw err;
      throw syncError(0, null, err);
    });
    const reader = r.status === 200 ? r.body?.getReader?.() : null;
    if (!reader) {
      if (r.status !== 200) throw syncError(r.status, parse(await r.text()));
      await r.text?.().catch(() => {});
      return this.#longPoll(since, signal);
    }
    this.notifyWrite(); // catch up with what happened while not listening
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let at;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        if (/^event: ?change$/m.test(block)) {
          const data = parse(block.match(/^data: ?(.*)$/m)?.[1] ?? '');
          if (!(typeof data?.cursor === 'number' && data.cursor <= await this.#engine('syncCursor'))) this.notifyWrite();
        }
      }
    }
  }

  async #longPoll(since, signal) {
    const r = await this.#request('GET', `/v1/pull?since=${since}&limit=1&wait=25`, undefined, signal);
    if (r.status !== 200) throw syncError(r.status, parse(r.text));
    // Run the round before polling again: until it pulls, the cursor stays
    // behind and the next poll would answer at once.
    if (parse(r.text)?.changes?.length) await this.now().catch(() => {});
  }

  /** @returns {Promise<number>} local changes not yet acknowledged by the server */
  async pending() {
    return await this.#engine('syncPending');
  }

  /** @returns {Promise<{online: boolean, lastSuccess: number|null, lastError: Error|null, pending: number}>} */
  async status() {
    return { ...this.#state, pending: await this.#engine('syncPending') };
  }

  /** Changes the server rejected (422), oldest first: { op, table, key, row, hlc, code, message }. */
  async deadLetters() {
    return await this.#engine('syncDeadLetters');
  }

  /** Sends a dead letter again (same op id) with the next round. */
  async retry(op) {
    await this.#engine('syncRetry', typeof op === 'object' && op !== null ? op.op : op);
  }

  /** Forgets a dead letter. */
  async discard(op) {
    await this.#engine('syncDiscard', typeof op === 'object' && op !== null ? op.op : op);
  }

  /** Stops and releases the session (the outbox stays in the database). */
  async close() {
    this.stop();
    if (this.#closed) return;
    if (this.#handle) await this.#call('syncClose', this.#handle);
    this.#closed = true;
  }
}
