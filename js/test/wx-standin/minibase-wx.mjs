// 'minibase-db' as api-preload.mjs serves it: the mini-program bundle, loaded
// through the stand-in's code package (miniprogram_npm/minibase-db), with the
// suite's adapter 'memory' replaced by 'wx' so every case runs on the wx
// FileSystemManager under wx.env.USER_DATA_PATH.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The bundle, through miniprogram_npm/minibase-db of the stand-in's code package. */
function load(packageDir) {
  const npm = path.join(packageDir, 'miniprogram_npm');
  fs.mkdirSync(npm, { recursive: true });
  const link = path.join(npm, 'minibase-db');
  const dist = fileURLToPath(new URL('../../dist/miniprogram', import.meta.url));
  if (!fs.existsSync(link)) fs.symlinkSync(dist, link, 'dir');
  return require(path.join(link, 'index.js'));
}

// Without its environment (`node --test js/test/` runs every file under a
// test directory) it exports nothing usable.
const mb = process.env.WX_PACKAGE_DIR ? load(process.env.WX_PACKAGE_DIR) : {};

export const { MinibaseError, Connection, Table, Transaction, Storage, openStorage } = mb;
export function connect(options = {}) {
  return mb.connect({ ...options, adapter: options.adapter === 'memory' ? 'wx' : options.adapter });
}
