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
  banner: { js: "import { createRequire as __bgCreateRequire } from 'node:module';\nconst require = __bgCreateRequire(import.meta.url);" },
  legalComments: 'eof',
  minify: false,
  sourcemap: false,
  logLevel: 'warning',
});
