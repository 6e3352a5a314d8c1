// Bundles the GitHub Action (src/action/main.ts) into dist/index.js, the file
// action.yml runs. Deterministic: the same sources give the same bytes, which
// is what scripts/check-dist.sh relies on to say dist/ is current.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ['src/action/main.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  // Some dependencies are CommonJS and call require() on Node built-ins; an ESM bundle has no require.
  // The Node check runs before any bundled module body (same rule as bin/breakglass.js).
  banner: {
    js: [
      "import { createRequire as __bgCreateRequire } from 'node:module';",
      "{ const [__bgMaj, __bgMin] = process.versions.node.split('.').map(Number); if (__bgMaj < 22 || (__bgMaj === 22 && __bgMin < 12)) { process.stdout.write('::error::breakglass: NODE_UNSUPPORTED: needs Node.js 22.12 or newer (24 recommended); found Node.js ' + process.versions.node + '\\n'); process.exit(2); } }",
      'const require = __bgCreateRequire(import.meta.url);',
    ].join('\n'),
  },
  legalComments: 'eof',
  minify: false,
  sourcemap: false,
  logLevel: 'warning',
});
