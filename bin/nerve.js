#!/usr/bin/env node
'use strict';
// The `nerve` command runs the compiled code in dist/ (built by `npm start` when missing or stale, by
// `npm test`, or by `npm run build`).
let cli;
try {
  cli = require('../dist/src/cli/main.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli/main.js')) {
    console.error('nerve: dist/ is missing; run `npm run build` (`npm start` builds it for you)');
    process.exit(1);
  }
  throw err;
}
cli.main(process.argv.slice(2));
