'use strict';
// Syntax-checks CommonJS files the way `node --check` does (compiled inside
// the module wrapper, nothing executed), hundreds of files in one process
// instead of one process per file.
//   node check-syntax.cjs FILE...      exit 0 when every file parses
const fs = require('node:fs');
const vm = require('node:vm');

let failures = 0;
for (const file of process.argv.slice(2)) {
  try {
    vm.compileFunction(fs.readFileSync(file, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], {
      filename: file,
    });
  } catch (err) {
    failures += 1;
    console.error(`${file}: ${err.name}: ${err.message}`);
    if (err.stack) console.error(err.stack.split('\n').slice(0, 3).join('\n'));
  }
}
if (failures > 0) {
  console.error(`${failures} file(s) failed to parse`);
  process.exit(1);
}
