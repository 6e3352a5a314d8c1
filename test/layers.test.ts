/**
 * Layers without back-arrows: every import in src/ goes down (or sideways
 * within its own folder), never up. The checker itself is tested on synthetic
 * files, so a test that always passes cannot hide here.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeViolations, layerOf, readSources, unreachable, violations } from './helpers/layers.js';
import { ROOT } from './helpers/cli.js';

describe('the import directions of src/', () => {
  it('no file of src/ imports against the allowed directions', () => {
    const sources = readSources(join(ROOT, 'src'));
    expect(sources.length).toBeGreaterThan(100);
    expect(describeViolations(sources.flatMap(violations))).toBe('');
  });

  it('every file of src/ is reached from an entry point: nothing in the product is there only for tests or benchmarks', () => {
    // The entry points: the CLI (bin/breakglass.js loads lib/cli/main.js), the Action bundle, the schema emitter (npm run build).
    const sources = readSources(join(ROOT, 'src'));
    expect(unreachable(sources, ['cli/main.ts', 'action/main.ts', 'tools/emit-schemas.ts'])).toEqual([]);
  });

  it('every file of src/ is in a placed layer', () => {
    const unplaced = readSources(join(ROOT, 'src'))
      .filter((s) => layerOf(s.path) === undefined)
      .map((s) => s.path);
    expect(unplaced).toEqual([]);
  });
});

describe('the checker fails on a deliberate back-import', () => {
  it('a module nothing imports is reported unreachable', () => {
    const sources = [
      { path: 'cli/main.ts', text: "import { a } from '../core/a.js';" },
      { path: 'core/a.ts', text: "export type { B } from './b.js';" },
      { path: 'core/b.ts', text: '' },
      { path: 'dev/runner-fixture.ts', text: "import { a } from '../core/a.js';" },
    ];
    expect(unreachable(sources, ['cli/main.ts'])).toEqual(['dev/runner-fixture.ts']);
  });

  it('crypto importing core (a static import) is refused', () => {
    const v = violations({ path: 'crypto/openpgp.ts', text: "import { fail } from '../core/reasons.js';\n" });
    expect(v).toEqual([{ file: 'crypto/openpgp.ts', line: 1, from: 'crypto', to: 'core', specifier: '../core/reasons.js' }]);
  });

  it('a type-only import, an export-from and a dynamic import are refused alike', () => {
    const text = ["import type { RunnerDeps } from '../runner/context.js';", "export { run } from '../cli/main.js';", 'const later = async () => await import("../action/main.js");'].join('\n');
    expect(violations({ path: 'core/x.ts', text }).map((v) => [v.line, v.to])).toEqual([
      [1, 'runner'],
      [2, 'cli'],
      [3, 'action'],
    ]);
  });

  it('drill importing cli, and adapters importing runner, are refused', () => {
    expect(violations({ path: 'drill/steps.ts', text: "import { verifyDelivery } from '../cli/delivery-verify.js';" })).toHaveLength(1);
    expect(violations({ path: 'adapters/git.ts', text: "import { x } from '../runner/loop.js';" })).toHaveLength(1);
  });

  it('a file in a new, unplaced folder is refused, and so is an import of one', () => {
    expect(violations({ path: 'extra/thing.ts', text: "import { x } from '../core/digest.js';" })[0]?.from).toBe('(unplaced)');
    expect(violations({ path: 'core/x.ts', text: "import { y } from '../extra/thing.js';" })[0]?.to).toBe('(unplaced)');
  });

  it('an import that leaves src/ (into test/) is refused even for an entry point', () => {
    expect(violations({ path: 'cli/main.ts', text: "import { RunnerEnv } from '../../test/helpers/runner-fixture.js';" })[0]?.to).toBe('(outside src)');
  });

  it('allowed directions pass: core to crypto, cli to anything, packages and built-ins', () => {
    const ok = [
      { path: 'core/verify.ts', text: "import { x } from '../crypto/openpgp.js';\nimport { VERSION } from '../version.js';" },
      { path: 'cli/main.ts', text: "import { x } from '../runner/loop.js';\nimport { y } from '../dev/demo.js';" },
      { path: 'crypto/openpgp.ts', text: "import * as openpgp from 'openpgp';\nimport { readFile } from 'node:fs/promises';\nimport { z } from './sigstore-root.js';" },
      { path: 'drill/run.ts', text: "import { reconcileOnce } from '../runner/loop.js';" },
    ];
    expect(ok.flatMap(violations)).toEqual([]);
  });
});
