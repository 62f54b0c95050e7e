// The service worker: caches the app shell and the minibase engine at install,
// then answers from the cache first (falling back to the network), so the app
// opens with the network off. Bump VERSION when the shell changes.
const VERSION = 'tasks-v1';
const SHELL = [
  './',
  './index.html',
  './app.js',
  './manifest.webmanifest',
  './icon.svg',
  './minibase/browser.mjs',
  './minibase/minibase.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(VERSION)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith(
    caches.open(VERSION).then(async (cache) => {
      const hit = await cache.match(req, { ignoreSearch: true });
      if (hit) return hit;
      try {
        return await fetch(req);
      } catch (err) {
        // Offline and not cached: a navigation still gets the app shell.
        if (req.mode === 'navigate') return (await cache.match('./index.html')) ?? Response.error();
        throw err;
      }
    }),
  );
});
