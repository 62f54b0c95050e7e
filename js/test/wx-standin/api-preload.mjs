// Preload (node --import) that turns this process into a mini-program
// runtime for a test file written against `import … from 'minibase-db'`: the
// globals and methods a phone's mini-program runtime lacks are deleted (the
// stand-in's 'device' profile), wx and WXWebAssembly (the
// stand-in) are installed, and 'minibase-db' resolves to minibase-wx.mjs — the
// wx bundle, with adapter 'memory' replaced by 'wx'. Unlike runtime.cjs's vm
// context, everything stays in one realm, so a suite's instanceof and
// deepStrictEqual checks on results hold. Used by wx.test.mjs to re-run
// api.test.mjs; env WX_DATA_DIR and WX_PACKAGE_DIR name the directories.
import { register, createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createWx, removalScript } = require('./index.cjs');

// Without its environment (`node --test js/test/` runs every file under a
// test directory) it does nothing.
if (process.env.WX_DATA_DIR && process.env.WX_PACKAGE_DIR) {
  const { wx, WXWebAssembly } = createWx({ dataDir: process.env.WX_DATA_DIR, packageDir: process.env.WX_PACKAGE_DIR });
  // What a phone's logic layer lacks, except what this process needs to run
  // at all (process for the test runner).
  new Function(removalScript('device', ['process', 'require', 'Buffer', 'window', 'document']))();
  globalThis.wx = wx;
  globalThis.WXWebAssembly = WXWebAssembly;
  register('./api-hooks.mjs', import.meta.url);
}
