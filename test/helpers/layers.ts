/**
 * The import directions of src/, checked from the source text with the
 * TypeScript compiler's own pre-processor (static imports, `export … from`,
 * `import type`, dynamic `import()` and `require`), so a back-arrow cannot hide
 * behind a form a regular expression would miss.
 *
 * The layers, bottom to top (docs/design.md, "Layers"):
 *   leaf      version.ts, project-root.ts: constants, import nothing of ours
 *   crypto    OpenPGP and sigstore: imports nothing of ours
 *   core      pure schemas, verification, plans: crypto, leaf
 *   adapters  one outside system each: core, crypto, leaf
 *   runner, action, dev (the demo's run time)
 *             adapters, core, crypto, leaf
 *   drill     drives the real runner once: runner and what runner may import
 *   cli, tools  entry points: anything
 * A file in a folder not named here fails the check: a new folder is placed
 * on purpose, not by accident.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

const BELOW_RUNNER = ['adapters', 'core', 'crypto', 'leaf'];

/** What each layer may import, besides itself. */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  leaf: [],
  crypto: [],
  core: ['crypto', 'leaf'],
  adapters: ['core', 'crypto', 'leaf'],
  runner: BELOW_RUNNER,
  action: BELOW_RUNNER,
  dev: BELOW_RUNNER,
  drill: ['runner', ...BELOW_RUNNER],
  cli: ['*'],
  tools: ['*'],
};

const LEAVES = new Set(['version.ts', 'project-root.ts']);

/** The layer of a path relative to src/ (posix separators), or undefined for an unplaced file. */
export function layerOf(srcRelative: string): string | undefined {
  if (LEAVES.has(srcRelative)) return 'leaf';
  const top = srcRelative.split('/')[0];
  if (top === undefined || !srcRelative.includes('/')) return undefined;
  return Object.hasOwn(ALLOWED, top) ? top : undefined;
}

/** One source file, its path relative to src/ with posix separators. */
export interface SourceText {
  path: string;
  text: string;
}

/** An import against the allowed directions. */
export interface Violation {
  file: string;
  line: number;
  from: string;
  to: string;
  specifier: string;
}

/** Every import of `file` that leaves its layer the wrong way (or comes from or goes to an unplaced file). */
export function violations(file: SourceText): Violation[] {
  const info = ts.preProcessFile(file.text, true, true);
  const from = layerOf(file.path) ?? '(unplaced)';
  const found: Violation[] = [];
  const lineOf = (pos: number) => file.text.slice(0, pos).split('\n').length;
  for (const ref of info.importedFiles) {
    const spec = ref.fileName;
    if (!spec.startsWith('.')) continue; // packages and node: built-ins are not ours
    const target = posix.normalize(posix.join(posix.dirname(file.path), spec)).replace(/\.js$/, '.ts');
    const to = target.startsWith('../') ? '(outside src)' : (layerOf(target) ?? '(unplaced)');
    if (to === from && from !== '(unplaced)') continue;
    const allowed = ALLOWED[from] ?? [];
    if (allowed.includes('*') && to !== '(outside src)') continue;
    if (allowed.includes(to)) continue;
    found.push({ file: file.path, line: lineOf(ref.pos), from, to, specifier: spec });
  }
  return found;
}

function targets(file: SourceText): string[] {
  return ts
    .preProcessFile(file.text, true, true)
    .importedFiles.map((r) => r.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => posix.normalize(posix.join(posix.dirname(file.path), spec)).replace(/\.js$/, '.ts'));
}

/** The files of `sources` no entry point reaches through imports (static or dynamic), sorted. */
export function unreachable(sources: readonly SourceText[], entries: readonly string[]): string[] {
  const byPath = new Map(sources.map((s) => [s.path, s]));
  const seen = new Set<string>();
  const visit = (path: string): void => {
    const file = byPath.get(path);
    if (!file || seen.has(path)) return;
    seen.add(path);
    for (const t of targets(file)) visit(t);
  };
  for (const e of entries) visit(e);
  return sources
    .map((s) => s.path)
    .filter((p) => !seen.has(p))
    .sort();
}

/** Every .ts file under `srcDir`, as the checker reads it. */
export function readSources(srcDir: string): SourceText[] {
  const out: SourceText[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.push({ path: relative(srcDir, p).split(sep).join('/'), text: readFileSync(p, 'utf8') });
    }
  };
  walk(srcDir);
  return out;
}

/** `file:line: from -> to (specifier)`, one per line: what the failing test prints. */
export function describeViolations(found: readonly Violation[]): string {
  return found.map((v) => `src/${v.file}:${v.line}: ${v.from} -> ${v.to} (${v.specifier})`).join('\n');
}
