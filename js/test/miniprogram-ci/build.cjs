// Runs WeChat's "Build npm" (miniprogram-ci packNpm) on a mini-program
// project and its code analysis (analyseCode), in a process of its own: the
// tool logs freely and leaves handles open. Prints one JSON line: every file
// of the built project with its size and subpackage (null: main package).
//
//   node js/test/miniprogram-ci/build.cjs <projectPath>
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ci = require('miniprogram-ci');

(async () => {
  const projectPath = path.resolve(process.argv[2]);
  // Neither step signs anything, but a project needs a key file.
  const key = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mpci-')), 'private.key');
  fs.writeFileSync(key, 'unused');
  const project = new ci.Project({ appid: 'touristappid', type: 'miniProgram', projectPath, privateKeyPath: key, ignores: ['node_modules/**/*'] });
  const warnings = await ci.packNpm(project, { reporter: () => {} });
  const analysis = await ci.analyseCode(project, { silent: true });
  const files = analysis.files.map((f) => ({ path: f.path, size: f.size, subPackage: f.subPackage }));
  process.stdout.write(`\n${JSON.stringify({ warnings, files })}\n`);
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
