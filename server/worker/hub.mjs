// TenantHub: the Durable Object that holds a tenant's event streams on
// Cloudflare Workers and fans change notices out to them.
//
// It is JavaScript because the Go bindings (syumai/workers v0.31.0) can call
// a Durable Object (a stub's fetch) but cannot define one: a Durable Object
// class must be a class exported by the Worker's main module, and the Go
// build exports only the fetch/scheduled handlers. It is small on purpose:
// no tokens, no SQL, no protocol beyond the notice's text. entry.mjs sends it
// streams whose token the Go server has checked (with the tenant's cursor at
// that moment); the Go server's push handler sends it the new cursor once
// per stored push. It also holds long-polls that found nothing new until
// the next notice (entry.mjs asks it). Idle streams and waiting long-polls
// cost no D1 query at all.
//
// Streams are server-sent events (the client reads /v1/events the same way
// from the native server and from the Worker). The object stays in memory
// while it holds streams; hibernatable WebSockets would let it sleep
// between notices, at the price of a second transport in the client.

const encoder = new TextEncoder();

/** Keep-alive comment interval, as on the native server. */
const KEEP_ALIVE_MS = 15000;
/** Streams and long-polls one object holds at most; beyond, 429 as the native server's per-tenant cap. */
export const MAX_STREAMS = 10000;
/** Longest long-poll wait held, as the server's cap on `wait`; bounds a waiter whatever it asks. */
const MAX_WAIT_MS = 30000;
/** Unread messages a stream may hold before its client counts as gone. */
const MAX_BACKLOG = 256;

export class TenantHub {
  constructor(state, env) {
    this.state = state;
    this.env = env;
    /** Greatest cursor announced by a push since this object started. */
    this.cursor = 0;
    /** @type {Set<{writer: WritableStreamDefaultWriter, sent: number}>} */
    this.streams = new Set();
    this.timer = null;
    /** Long-polls waiting for a cursor past theirs: {after, done(notified)}. */
    this.waiters = new Set();
  }

  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/notify' && request.method === 'POST') {
      const { cursor } = await request.json();
      if (Number.isSafeInteger(cursor) && cursor > this.cursor) {
        this.cursor = cursor;
        this.broadcast();
      }
      return new Response(null, { status: 204 });
    }
    if (url.pathname === '/events' && request.method === 'GET') {
      return this.open(Number(url.searchParams.get('cursor')) || 0, request);
    }
    if (url.pathname === '/wait' && request.method === 'GET') {
      return this.wait(Number(url.searchParams.get('after')), Number(url.searchParams.get('ms')), request);
    }
    if (url.pathname === '/stats') {
      return Response.json({ streams: this.streams.size, waiters: this.waiters.size, cursor: this.cursor });
    }
    return new Response('not found', { status: 404 });
  }

  open(cursor, request) {
    if (this.streams.size + this.waiters.size >= MAX_STREAMS) {
      return Response.json({ error: { code: 'TOO_MANY_STREAMS', message: `this tenant already holds ${MAX_STREAMS} event streams and long-polls` } },
        { status: 429, headers: { 'Retry-After': '5' } });
    }
    const { readable, writable } = new TransformStream();
    const stream = { writer: writable.getWriter(), sent: cursor };
    this.streams.add(stream);
    this.write(stream, `retry: 3000\nevent: change\ndata: {"cursor": ${cursor}}\n\n`);
    // A push that committed after the cursor was read may have been announced
    // already: send it now.
    if (this.cursor > cursor) this.send(stream);
    request.signal?.addEventListener?.('abort', () => this.drop(stream));
    if (!this.timer) this.timer = setInterval(() => this.keepAlive(), KEEP_ALIVE_MS);
    return new Response(readable, {
      headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' },
    });
  }

  /**
   * Holds a long-poll that found nothing past the tenant's cursor `after`
   * until a push announces a greater one ({notified: true}) or `ms` runs out
   * or the client leaves ({notified: false}). The cursor was read before
   * the long-poll's pull, so a push since then has either been announced
   * here already (answered at once) or will be.
   */
  wait(after, ms, request) {
    if (!Number.isSafeInteger(after) || after < 0 || !(ms >= 0)) {
      return Response.json({ error: { code: 'BAD_REQUEST', message: 'after and ms must be non-negative numbers' } }, { status: 400 });
    }
    if (this.cursor > after) return Response.json({ notified: true });
    if (this.streams.size + this.waiters.size >= MAX_STREAMS) {
      return Response.json({ error: { code: 'TOO_MANY_STREAMS', message: `this tenant already holds ${MAX_STREAMS} event streams and long-polls` } },
        { status: 429, headers: { 'Retry-After': '5' } });
    }
    return new Promise((resolve) => {
      const waiter = { after, done: null };
      const timer = setTimeout(() => waiter.done(false), Math.min(ms, MAX_WAIT_MS));
      const onAbort = () => waiter.done(false);
      waiter.done = (notified) => {
        if (!this.waiters.delete(waiter)) return;
        clearTimeout(timer);
        request.signal?.removeEventListener?.('abort', onAbort);
        resolve(Response.json({ notified }));
      };
      this.waiters.add(waiter);
      request.signal?.addEventListener?.('abort', onAbort);
    });
  }

  send(stream) {
    stream.sent = this.cursor;
    this.write(stream, `event: change\ndata: {"cursor": ${this.cursor}}\n\n`);
  }

  broadcast() {
    for (const s of this.streams) if (s.sent < this.cursor) this.send(s);
    for (const w of this.waiters) if (w.after < this.cursor) w.done(true);
  }

  keepAlive() {
    for (const s of this.streams) this.write(s, ': keep-alive\n\n');
  }

  write(stream, text) {
    // A client that stopped reading while staying connected would make its
    // unread notices pile up here: past a bound it is dropped.
    const backlog = stream.writer.desiredSize;
    if (backlog !== null && backlog < -MAX_BACKLOG) {
      this.drop(stream);
      return;
    }
    // A write fails once the client has gone: that is how a stream ends.
    stream.writer.write(encoder.encode(text)).catch(() => this.drop(stream));
  }

  drop(stream) {
    if (!this.streams.delete(stream)) return;
    stream.writer.abort().catch(() => {});
    if (this.streams.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
