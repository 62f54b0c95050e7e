// The example mini-program built with WeChat's own tooling: an `npm pack` of
// this package installed into a copy of examples/miniprogram (a tarball, as
// a user gets it: a file: link to the repository would loop), WeChat's
// "Build npm" (miniprogram-ci packNpm), the built miniprogram_npm/minibase-db
// run in the stand-in's device profile through the example's own pages, and
// the main package's size from WeChat's code analysis. miniprogram-ci is
// installed apart (js/test/miniprogram-ci, `make test-miniprogram-ci-deps`);
// without it the test is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { createRuntime } = require('./wx-standin/runtime.cjs');
const { createFramework, event } = require('./wx-standin/page-shim.cjs');
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const ciDir = path.join(repoRoot, 'js', 'test', 'miniprogram-ci');
const installed = fs.existsSync(path.join(ciDir, 'node_modules', 'miniprogram-ci', 'package.json'));

const MB = 1024 * 1024;

test('WeChat\'s Build npm packs the example from an npm tarball; it runs, and the main package stays small', {
  skip: installed ? false : 'miniprogram-ci is not installed (make test-miniprogram-ci-deps)',
  timeout: 300_000,
}, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-mpci-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tarball = execFileSync('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n').at(-1);
  const project = path.join(dir, 'project');
  fs.cpSync(path.join(repoRoot, 'examples', 'miniprogram'), project, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|miniprogram_npm)$/.test(src),
  });
  const pkg = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8'));
  pkg.dependencies['minibase-db'] = `file:${path.join(dir, tarball)}`;
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify(pkg, null, 2));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], { cwd: project, stdio: 'inherit' });
  assert.ok(!fs.lstatSync(path.join(project, 'node_modules', 'minibase-db')).isSymbolicLink(), 'installed from the tarball, not linked');

  const out = execFileSync(process.execPath, [path.join(ciDir, 'build.cjs'), project], { cwd: ciDir, encoding: 'utf8', maxBuffer: 64 * MB });
  const { files } = JSON.parse(out.trim().split('\n').at(-1));
  const built = path.join(project, 'miniprogram_npm', 'minibase-db');
  assert.deepEqual(fs.readdirSync(built).sort(), ['index.js', 'minibase.wasm.br', 'package.json'], 'Build npm copied the package\'s miniprogram folder');

  // The built package, run by the example's own app and page on a phone's runtime.
  const fw = createFramework();
  const rt = createRuntime({ dataDir: path.join(dir, 'usr'), packageDir: project, globals: fw.globals });
  assert.ok(!fs.lstatSync(built).isSymbolicLink(), 'the stand-in runs what Build npm produced');
  rt.load(path.join(project, 'app.js'));
  const app = fw.launch();
  rt.load(path.join(project, 'pages/index/index.js'));
  const page = fw.page();
  // The page shows a live query: its setData follows a write's commit in
  // promise callbacks, which run before the next macrotask.
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  await page.onLoad({});
  await app.ready;
  await settle();
  page.onInput(event({ value: '2 milk' }));
  await page.onAdd();
  await settle();
  assert.equal(page.data.error, '');
  assert.deepEqual(page.data.items.map((i) => [i.name, i.qty]), [['milk', 2]]);

  // WeChat's analysis of the package: the main package's 2 MB must leave the app room.
  const main = files.filter((f) => f.subPackage === null && !f.path.startsWith('node_modules/'));
  const total = main.reduce((a, f) => a + f.size, 0);
  const ours = main.filter((f) => f.path.startsWith('miniprogram_npm/minibase-db/')).reduce((a, f) => a + f.size, 0);
  t.diagnostic(`main package ${(total / MB).toFixed(2)} MB, of which minibase ${(ours / MB).toFixed(2)} MB`);
  assert.ok(total <= 2 * MB, `main package ${total} bytes`);
  assert.ok(ours <= 1.4 * MB, `minibase's share of the main package: ${ours} bytes`);
});
