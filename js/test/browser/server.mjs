// A tiny static file server for the browser tests, bound to 127.0.0.1 on
// a free port: serves the repository (read-only, no directory listings), with
// the MIME types a browser insists on (application/wasm for streaming
// compilation, text/javascript for modules and workers).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The headers that make a page cross-origin isolated (SharedArrayBuffer and
 * Atomics.waitAsync exist there, and the 'opfs' adapter's calls take its
 * shared channel): on every response, so that its workers are too.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * Starts a server. `mounts` maps URL prefixes to directories (default: "/" → the repository);
 * `isolated` serves every response with ISOLATION_HEADERS.
 * @param {{ mounts?: Record<string, string>, port?: number, isolated?: boolean }} [options]
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startServer({ mounts = { '/': repoRoot }, port = 0, isolated = false } = {}) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = http.createServer((req, res) => {
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const prefix = prefixes.find((p) => pathname.startsWith(p));
    if (!prefix || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    const base = path.resolve(mounts[prefix]);
    let file = path.resolve(base, '.' + path.posix.normalize('/' + pathname.slice(prefix.length)));
    if (file !== base && !file.startsWith(base + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    fs.stat(file, (err, st) => {
      if (!err && st.isDirectory()) {
        file = path.join(file, 'index.html');
        st = fs.existsSync(file) ? fs.statSync(file) : null;
      }
      if (err || !st) {
        res.writeHead(404).end();
        return;
      }
      // Validators, as static hosts send them: a page loaded again gets a
      // 304 for what did not change, and Chromium reuses what it cached for
      // the response (for the wasm, its compiled code).
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const headers = {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-cache',
        ETag: etag,
        'Last-Modified': st.mtime.toUTCString(),
        ...(isolated ? ISOLATION_HEADERS : {}),
      };
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers).end();
        return;
      }
      res.writeHead(200, { ...headers, 'Content-Length': st.size });
      if (req.method === 'HEAD') res.end();
      else fs.createReadStream(file).pipe(res);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: actual } = server.address();
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
