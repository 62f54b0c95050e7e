// The size budget of the wasm engine (`make size`): raw, gzip and brotli
// size of the shipped builds (-trimpath -s -w) — the Node/browser one
// (js/dist/minibase.wasm, every adapter) and the mini-program one
// (-tags wx: no node or IndexedDB adapter; js/dist/miniprogram's
// minibase.wasm.br) — the WebAssembly proposals each uses (a phone whose
// runtime lacks one refuses the module; see js/wasm-features.mjs), and what
// each package of the mini-program build costs in code, from the function
// names of a build with symbols (`go tool nm` does not read wasm, so this
// reads the module's code and name sections itself). With --wasm-opt, also
// tries binaryen's wasm-opt -Oz and reports whether it pays after brotli.
//
//   node js/size.mjs [--wasm-opt] [--top N]

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { wasmFeatures, PROPOSALS } from './wasm-features.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const top = Number(args[args.indexOf('--top') + 1]) || 25;
const BUDGET = 1.2 * 1024 * 1024; // brotli bytes, every adapter
const WX_GOAL = 1.0 * 1024 * 1024; // brotli bytes, the mini-program build

const kb = (n) => `${(n / 1024).toFixed(0).padStart(6)} KB`;
const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;
const brotli = (buf) =>
  zlib.brotliCompressSync(buf, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
    },
  }).length;
const sizes = (buf) => ({ raw: buf.length, gzip: zlib.gzipSync(buf, { level: 9 }).length, brotli: brotli(buf) });

function build(out, ldflags, tags = '') {
  execFileSync('go', ['build', ...(tags ? ['-tags', tags] : []), '-trimpath', `-ldflags=${ldflags}`, '-o', out, './wasm'], {
    cwd: repo,
    env: { ...process.env, GOOS: 'js', GOARCH: 'wasm' },
    stdio: 'inherit',
  });
  return fs.readFileSync(out);
}

// ---- wasm parsing: enough to attribute code bytes to function names ----

function reader(buf, pos = 0) {
  return {
    get pos() {
      return pos;
    },
    set pos(p) {
      pos = p;
    },
    u8: () => buf[pos++],
    leb() {
      let result = 0;
      let shift = 0;
      for (;;) {
        const b = buf[pos++];
        result += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (b < 0x80) return result;
      }
    },
    str() {
      const n = this.leb();
      const s = buf.subarray(pos, pos + n).toString('utf8');
      pos += n;
      return s;
    },
  };
}

/** { sections: {name → bytes}, functions: [{ name, size }] } of a wasm module. */
function parseWasm(buf) {
  const r = reader(buf, 8);
  const sectionNames = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount'];
  const sections = {};
  let importedFuncs = 0;
  const bodies = [];
  const names = new Map();
  while (r.pos < buf.length) {
    const id = r.u8();
    const size = r.leb();
    const start = r.pos;
    let label = sectionNames[id] ?? `section ${id}`;
    if (id === 0) {
      label = `custom "${r.str()}"`;
      if (label === 'custom "name"') {
        while (r.pos < start + size) {
          const sub = r.u8();
          const subSize = r.leb();
          const subEnd = r.pos + subSize;
          if (sub === 1) {
            for (let i = r.leb(); i > 0; i--) names.set(r.leb(), r.str());
          }
          r.pos = subEnd;
        }
      }
    } else if (id === 2) {
      for (let i = r.leb(); i > 0; i--) {
        r.str();
        r.str();
        const kind = r.u8();
        if (kind === 0) {
          r.leb();
          importedFuncs++;
        } else if (kind === 1) {
          r.u8();
          const flags = r.leb();
          r.leb();
          if (flags & 1) r.leb();
        } else if (kind === 2) {
          const flags = r.leb();
          r.leb();
          if (flags & 1) r.leb();
        } else if (kind === 3) {
          r.u8();
          r.u8();
        }
      }
    } else if (id === 10) {
      for (let i = r.leb(); i > 0; i--) {
        const n = r.leb();
        bodies.push(n);
        r.pos += n;
      }
    }
    sections[label] = (sections[label] ?? 0) + size;
    r.pos = start + size;
  }
  const functions = bodies.map((size, i) => ({ name: names.get(importedFuncs + i) ?? `func${importedFuncs + i}`, size }));
  return { sections, functions };
}

/**
 * The Go package of a function name as the name section spells it ('/' and
 * '-' become '_'): "minibase_engine_lsm.(*Store).Get" → "minibase/engine/lsm",
 * "github.com_hack_pad_hackpadfs.WriteFile" → "github.com/hack_pad/hackpadfs".
 */
function packageOf(sym) {
  if (sym.startsWith('type_.')) return 'type_ (generated eq/hash functions)';
  let rest = sym;
  let host = '';
  const m = /^((?:github\.com|golang\.org|google\.golang\.org|modernc\.org)_)/.exec(sym);
  if (m) {
    host = m[1].slice(0, -1) + '/';
    rest = sym.slice(m[1].length);
  }
  const dot = rest.indexOf('.');
  const pkg = dot < 0 ? rest : rest.slice(0, dot);
  if (!host) return pkg.replaceAll('_', '/');
  // Module paths are ambiguous once '/' and '-' are both '_': name the known ones.
  for (const known of ['hack-pad/hackpadfs', 'hack-pad/go-indexeddb', 'hack-pad/safejs', 'syumai/workers', 'stretchr/testify']) {
    const spelled = known.replace(/[/-]/g, '_');
    if (pkg === spelled || pkg.startsWith(spelled + '_')) return host + known + pkg.slice(spelled.length).replaceAll('_', '/');
  }
  return host + pkg;
}

/** Groups packages into what a reader decides on: our code, the runtime, each dependency. */
function familyOf(pkg) {
  if (pkg.startsWith('minibase/') || pkg.startsWith('type_')) return pkg;
  if (pkg.startsWith('github.com/') || pkg.includes('.org/')) return pkg.split('/').slice(0, 3).join('/');
  const first = pkg.split('/')[0];
  if (first === 'runtime' || first === 'internal') return `${first}/* (std)`;
  return `${first}/* (std)`;
}

// ---- report ----

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-size-'));
try {
  const proposals = (buf) =>
    [...wasmFeatures(buf)].map(([name, n]) => `${name} (${n}${PROPOSALS[name] ? `: ${PROPOSALS[name]}` : ''})`).join('\n    ') || 'none (MVP only)';
  const report = (title, buf, limit, limitName) => {
    const s = sizes(buf);
    console.log(title);
    console.log(`  raw    ${mb(s.raw)}`);
    console.log(`  gzip   ${mb(s.gzip)}  (-9)`);
    console.log(`  brotli ${mb(s.brotli)}  (q11; ${limitName} ${mb(limit)}: ${s.brotli <= limit ? 'within' : 'OVER'})`);
    console.log(`  wasm proposals used:\n    ${proposals(buf)}`);
    return s;
  };
  const everything = build(path.join(tmp, 'all.wasm'), '-s -w');
  report('minibase.wasm — Node and browsers, every adapter (GOOS=js GOARCH=wasm, -trimpath -ldflags="-s -w")', everything, BUDGET, 'budget');
  const shipped = build(path.join(tmp, 'stripped.wasm'), '-s -w', 'wx');
  console.log();
  const s = report('minibase.wasm.br — mini-programs (-tags wx: no node or IndexedDB adapter), what WXWebAssembly loads', shipped, WX_GOAL, 'goal');
  const full = build(path.join(tmp, 'symbols.wasm'), '-w', 'wx');

  const { sections, functions } = parseWasm(full);
  console.log('\nsections of the mini-program build (with symbols):');
  for (const [name, n] of Object.entries(sections).sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`  ${kb(n)}  ${name}`);

  const byFamily = new Map();
  const byPackage = new Map();
  for (const f of functions) {
    const pkg = packageOf(f.name);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + f.size);
    const fam = familyOf(pkg);
    byFamily.set(fam, (byFamily.get(fam) ?? 0) + f.size);
  }
  const code = functions.reduce((a, f) => a + f.size, 0);
  console.log(`\ncode by package family (of ${kb(code).trim()} of function bodies; data, type info and tables are in the data section):`);
  for (const [fam, n] of [...byFamily].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${kb(n)}  ${((100 * n) / code).toFixed(1).padStart(5)}%  ${fam}`);
  }
  console.log('\nlargest packages:');
  for (const [pkg, n] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${kb(n)}  ${pkg}`);

  if (args.includes('--wasm-opt')) {
    let ok = true;
    try {
      execFileSync('wasm-opt', ['--version'], { stdio: 'ignore' });
    } catch {
      ok = false;
      console.log('\nwasm-opt: not installed (Debian: apt-get install binaryen); skipped');
    }
    if (ok) {
      const out = path.join(tmp, 'opt.wasm');
      execFileSync('wasm-opt', ['-Oz', '--enable-bulk-memory', '--enable-sign-ext', '--enable-nontrapping-float-to-int', '--enable-mutable-globals', path.join(tmp, 'stripped.wasm'), '-o', out], { stdio: 'inherit' });
      const o = sizes(fs.readFileSync(out));
      console.log(`\nwasm-opt -Oz: raw ${mb(o.raw)}  gzip ${mb(o.gzip)}  brotli ${mb(o.brotli)}  (${o.brotli < s.brotli ? `${kb(s.brotli - o.brotli).trim()} smaller after brotli` : 'no gain after brotli'})`);
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
