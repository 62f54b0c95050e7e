// What `npm publish` would ship: the built engine and bundles, the type
// declarations and the license; nothing left over from development.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('the package tarball holds what a user needs and nothing else', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const files = new Map(JSON.parse(out)[0].files.map((f) => [f.path, f.size]));
  for (const need of ['package.json', 'README.md', 'LICENSE', 'js/index.d.ts', 'js/compat.d.ts', 'js/wx.d.ts',
    'js/dist/index.mjs', 'js/dist/index.cjs', 'js/dist/index.d.cts', 'js/dist/compat.d.cts', 'js/dist/browser.mjs', 'js/dist/compat.mjs', 'js/dist/compat.cjs',
    'js/dist/minibase.wasm', 'js/dist/miniprogram/index.js', 'js/dist/miniprogram/minibase.wasm.br']) {
    assert.ok(files.get(need) > 0, `${need} is missing or empty in the tarball`);
  }
  for (const [path] of files) {
    assert.ok(!/(^|\/)\.built$|minibase-wx\.wasm$|^js\/dist\/minibase\.wasm\.br$|^js\/(src|test|bench)\/|^(engine|wasm|server|fsadapter)\//.test(path), `${path} should not be published`);
  }
});

// Every npm install the Makefile runs is `npm ci` from a committed lockfile:
// npm ci refuses a lockfile that disagrees with its package.json, and
// `npm install` would rewrite the lockfile (a dirty tree on a fresh clone).
const INSTALLS = ['.', 'js/test/browser', 'js/bench', 'server/worker', 'js/test/miniprogram-ci'];

test('each npm install of the repository has a lockfile that matches its package.json', () => {
  const exact = /^\d+\.\d+\.\d+(-[\w.]+)?$/;
  for (const dir of INSTALLS) {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    const lockFile = path.join(root, dir, 'package-lock.json');
    assert.ok(fs.existsSync(lockFile), `${dir}/package-lock.json is missing`);
    const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
    assert.equal(lock.name, pkg.name, `${dir}: the lockfile is of another package`);
    const top = lock.packages[''];
    for (const kind of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      assert.deepEqual(top[kind] ?? {}, pkg[kind] ?? {}, `${dir}: ${kind} of package.json and package-lock.json differ`);
      for (const [name, spec] of Object.entries(pkg[kind] ?? {})) {
        // The benchmarks import the package itself, through a link to the repository.
        if (name === 'minibase-db' && spec.startsWith('file:') && path.resolve(root, dir, spec.slice(5)) === path.resolve(root)) continue;
        assert.ok(exact.test(spec), `${dir}: ${name}@${spec} is not pinned to one version`);
        assert.equal(lock.packages[`node_modules/${name}`]?.version, spec, `${dir}: the lockfile does not hold ${name}@${spec}`);
      }
    }
  }
});

test('the package itself depends on what make build, make demo and the Node tests need, nothing more', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}), []);
  assert.deepEqual(Object.keys(pkg.devDependencies).sort(), ['esbuild', 'fake-indexeddb', 'typescript']);
});

test('make installs npm packages with npm ci only, each install from its own folder', () => {
  const makefile = fs.readFileSync(path.join(root, 'Makefile'), 'utf8');
  const recipes = makefile.split('\n').filter((l) => l.startsWith('\t'));
  assert.deepEqual(recipes.filter((l) => /npm (install|i)\b/.test(l) && !/'npm install --package-lock-only'/.test(l)), [], 'npm install rewrites lockfiles');
  for (const dir of INSTALLS.slice(1)) {
    assert.ok(makefile.includes(dir === 'js/test/miniprogram-ci' ? 'MPCI := js/test/miniprogram-ci' : `$(call npm-ci,${dir})`), `no make rule installs ${dir}`);
  }
});
