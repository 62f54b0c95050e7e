// A small static server for the PWA, bound to 127.0.0.1 only: the app at /,
// the inspector of its database at /inspect, the minibase browser build
// (js/dist) at /minibase/.
//
//   node examples/pwa/serve.mjs          (make pwa; PORT=8790 by default)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../../js/dist');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
};
// Only what the app needs is served.
const DIST_FILES = new Set(['browser.mjs', 'minibase.wasm', 'inspector.mjs']);

function resolve(pathname) {
  if (!pathname.startsWith('/')) return null;
  if (pathname.startsWith('/minibase/')) {
    const name = pathname.slice('/minibase/'.length);
    return DIST_FILES.has(name) ? path.join(dist, name) : null;
  }
  const name = pathname === '/' ? 'index.html' : pathname === '/inspect' ? 'inspect.html' : pathname.slice(1);
  if (name.includes('/') || name.startsWith('.') || name === 'serve.mjs') return null;
  return path.join(here, name);
}

// pathnameOf reads the path of a request target. The target is appended to
// a fixed origin rather than resolved against it: resolved, "//" names a
// host of its own ("//" alone is no URL at all and threw), and a request
// must never bring the server down. Anything unreadable is served nothing.
function pathnameOf(target) {
  if (typeof target !== 'string' || !target.startsWith('/')) return '';
  try {
    return new URL(`http://127.0.0.1${target}`).pathname;
  } catch {
    return '';
  }
}

/**
 * Starts the server; resolves to { url, requests, close }.
 * @param {{ port?: number }} [options] port 0 picks a free one
 */
export async function serve({ port = 8790 } = {}) {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const file = req.method === 'GET' || req.method === 'HEAD' ? resolve(pathnameOf(req.url)) : null;
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    /** How many requests reached the server so far. */
    requests: () => requests,
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (!fs.existsSync(path.join(dist, 'minibase.wasm'))) {
    console.error('js/dist/minibase.wasm is missing: run make build');
    process.exit(1);
  }
  const { url } = await serve({ port: Number(process.env.PORT ?? 8790) });
  console.log(`minibase tasks PWA on ${url} (Ctrl-C to stop)`);
}
