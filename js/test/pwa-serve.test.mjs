// The PWA example's static server (examples/pwa/serve.mjs): odd request
// targets get a 404, never a crash, and the app is still served after them.
// The browser test (browser/pwa.test.mjs) covers the app itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { serve } from '../../examples/pwa/serve.mjs';

function get(url, target) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: target, method: 'GET', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the PWA server survives odd request targets', async () => {
  const server = await serve({ port: 0 });
  try {
    for (const target of ['//', '///', '//evil.example/index.html', '//index.html', '/%', '/..%2fserve.mjs', '/minibase//browser.mjs', '/serve.mjs', '*']) {
      assert.equal(await get(server.url, target), 404, target);
    }
    assert.equal(await get(server.url, '/'), 200, 'the app is still served');
    assert.equal(await get(server.url, '/index.html?x=//'), 200);
  } finally {
    await server.close();
  }
});
