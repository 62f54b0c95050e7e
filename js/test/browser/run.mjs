// Runs the browser tests (make test-browser): makes sure Debian's Chromium
// is installed (apt-get install -y chromium when /usr/bin/chromium is
// missing; never downloads a browser), then runs every *.test.mjs here under
// node --test with MINIBASE_BROWSER_TESTS=1.
//
//   node js/test/browser/run.mjs [file.test.mjs ...]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// `node --test js/test/` (make test-js) loads every file below js/test, this
// one included: there it does nothing (make test-browser runs it).
if (process.env.NODE_TEST_CONTEXT) process.exit(0);

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

function die(msg) {
  console.error(`test-browser: ${msg}`);
  process.exit(1);
}

if (!fs.existsSync(CHROMIUM)) {
  console.log(`test-browser: ${CHROMIUM} is missing; installing Debian's chromium package`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const run = (args) => spawnSync(sudo[0] ?? args[0], [...sudo.slice(1), ...(sudo.length ? args : args.slice(1))], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (run(['apt-get', 'install', '-y', 'chromium']).status !== 0) {
    run(['apt-get', 'update']);
    run(['apt-get', 'install', '-y', 'chromium']);
  }
  if (!fs.existsSync(CHROMIUM)) {
    die(`cannot install chromium (apt-get install -y chromium failed; needs root or passwordless sudo). Install it, or set CHROMIUM=/path/to/chromium.`);
  }
}
if (!fs.existsSync(path.join(here, '../../dist/browser.mjs')) || !fs.existsSync(path.join(here, '../../dist/minibase.wasm'))) {
  die('js/dist/browser.mjs or js/dist/minibase.wasm is missing: run make build');
}

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : fs.readdirSync(here).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join(here, f));
fs.mkdirSync(path.join(here, 'artifacts'), { recursive: true });
// A test that hangs (a page that never answers) fails after 5 minutes with
// its name, instead of holding the whole run until CI gives up on it.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', ...files], {
  stdio: 'inherit',
  env: { ...process.env, MINIBASE_BROWSER_TESTS: '1' },
});
process.exit(r.status ?? 1);
