#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in lib/ (built by `npm run build`, or `prepare` on install).
//
// The Node version is checked first, in syntax any Node parses (no import
// statement, arrow function or template literal before the check): an older
// Node gets one line saying what is needed and what was found, exit code 2,
// instead of a stack trace from deep inside a dependency. Both lines here use
// the form of every error (`breakglass: CODE: message`, codes in
// src/crypto/error-codes.ts), written out because nothing is loaded yet.
var NEEDED = '22.12';
var found = process.versions && process.versions.node ? process.versions.node : '0';
var have = found.split('.');
var want = NEEDED.split('.');
if (+have[0] < +want[0] || (+have[0] === +want[0] && +have[1] < +want[1])) {
  process.stderr.write('breakglass: NODE_UNSUPPORTED: needs Node.js ' + NEEDED + ' or newer (24 recommended); found Node.js ' + found + ' (' + process.execPath + ')\n');
  process.exit(2);
}
import('../lib/cli/main.js').then(
  function (m) {
    return m.main();
  },
  function (e) {
    // lib/ missing or broken (a checkout that was never built): say so, no stack trace.
    process.stderr.write('breakglass: INSTALL_BROKEN: cannot load the compiled CLI (lib/): ' + (e && e.message ? e.message : e) + '\n');
    process.exit(2);
  },
);
