/**
 * Slow input: every YAML file is bounded before the parser runs (size, lines,
 * line length, depth, nodes, keys per mapping, anchors, documents), and
 * duplicate keys are found in linear time. Speed itself is measured in
 * `npm run bench` (bench/yaml.js); these tests assert the refusals and their
 * codes, never a time.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommitSource } from '../src/adapters/source.js';
import { loadDocument, MAX_DOCUMENT_BYTES } from '../src/core/document.js';
import { loadRepository } from '../src/core/repository.js';
import { YAML_LIMITS } from '../src/core/yaml-scan.js';
import { benignPadded, HOSTILE } from './helpers/hostile-yaml.js';
import { readManifest } from '../src/runner/providers/networkpolicy.js';
import { inProcess, ROOT } from './helpers/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures');
const R = 'sessions/inc-4411-prod-crashloop/request.yaml';
const load = (text: string, kind: 'Request' | 'Policy' = 'Request') => loadDocument('f.yaml', Buffer.from(text), kind);
const codes = (text: string, kind: 'Request' | 'Policy' = 'Request') => load(text, kind).findings.map((f) => f.code);

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-limits-'));
  await cp(join(FIXTURES, 'base'), dir, { recursive: true });
  await cp(join(FIXTURES, 'valid'), dir, { recursive: true });
  return dir;
}

describe('each limit is enforced before parsing, with its code and the limit in the message', () => {
  const cases: [string, string, string, number, number, string][] = [
    ['a line too long', `a: ${'x'.repeat(YAML_LIMITS.lineChars)}\n`, 'YAML_LINE_TOO_LONG', 1, YAML_LIMITS.lineChars + 1, `at most ${YAML_LIMITS.lineChars}`],
    ['too many lines', `a: 1\n${'\n'.repeat(YAML_LIMITS.lines)}`, 'YAML_TOO_MANY_LINES', YAML_LIMITS.lines + 1, 1, `at most ${YAML_LIMITS.lines}`],
    ['flow nesting too deep', `a: ${'['.repeat(40)}${']'.repeat(40)}\n`, 'YAML_TOO_DEEP', 1, 4 + YAML_LIMITS.depth - 1, `at most ${YAML_LIMITS.depth}`],
    ['block nesting too deep', Array.from({ length: 40 }, (_, i) => `${' '.repeat(i)}k:\n`).join(''), 'YAML_TOO_DEEP', 33, 33, `at most ${YAML_LIMITS.depth}`],
    // "a", its mapping and the list are nodes 1-3, so item 9,998 is the 10,001st: line 11, its 998th item.
    ['too many nodes', `a: [\n${'x,'.repeat(1000).concat('\n').repeat(11)}]\n`, 'YAML_TOO_MANY_NODES', 11, 1 + 2 * 997, `at most ${YAML_LIMITS.nodes}`],
    ['too many keys in one mapping', Array.from({ length: YAML_LIMITS.keys + 1 }, (_, i) => `k${i}: v\n`).join(''), 'YAML_TOO_MANY_KEYS', YAML_LIMITS.keys + 1, 1, `at most ${YAML_LIMITS.keys}`],
    ['an anchor', 'a: &x 1\n', 'YAML_ALIAS', 1, 4, 'anchor &x is not allowed'],
    ['an alias in a flow list', 'a: [1, *x]\n', 'YAML_ALIAS', 1, 8, 'alias *x is not allowed'],
    ['a second document after an end marker', 'a: 1\n...\nb: 2\n', 'YAML_MULTI_DOC', 3, 1, 'more than one YAML document'],
    ['a second document after a block scalar', 'a: |\n  text\n---\nb: 2\n', 'YAML_MULTI_DOC', 3, 1, 'more than one YAML document'],
  ];
  for (const [what, text, code, line, col, says] of cases) {
    it(`refuses ${what}: ${code} at ${line}:${col}`, () => {
      const r = load(text);
      expect(r.ok).toBe(false);
      expect(r.findings).toHaveLength(1);
      expect(r.findings[0]).toMatchObject({ code, line, col });
      expect(r.findings[0]!.message).toContain(says);
    });
  }

  it('refuses a file over the size limit before decoding it: FILE_TOO_LARGE', () => {
    const r = load(HOSTILE['distinct keys']!(MAX_DOCUMENT_BYTES + 4096));
    expect(r.findings.map((f) => f.code)).toEqual(['FILE_TOO_LARGE']);
    expect(r.findings[0]!.message).toContain(`at most ${MAX_DOCUMENT_BYTES} bytes`);
  });
});

describe('hostile files of 1 MB and of just under the size limit', () => {
  for (const [shape, make] of Object.entries(HOSTILE)) {
    it(`refuses ${shape} at 1 MB with FILE_TOO_LARGE, and under the size limit with a limit code`, () => {
      expect(codes(make(1024 * 1024))).toEqual(['FILE_TOO_LARGE']);
      const under = codes(make(MAX_DOCUMENT_BYTES - 1024));
      expect(under).toHaveLength(1);
      expect(under[0]).toMatch(/^YAML_(LINE_TOO_LONG|TOO_MANY_LINES|TOO_DEEP|TOO_MANY_NODES|TOO_MANY_KEYS|ALIAS|MULTI_DOC)$/);
    });
  }

  it('accepts a benign policy of the same size (comments only add bytes)', async () => {
    const policy = await readFile(join(FIXTURES, 'base', 'policies', 'production.yaml'), 'utf8');
    const r = load(benignPadded(policy, MAX_DOCUMENT_BYTES - 1024), 'Policy');
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('validate refuses the reported 250 KB file and a 1 MB one, exit 1, no stack trace', async () => {
    const dir = await scratch();
    await writeFile(join(dir, R), HOSTILE['distinct keys']!(250 * 1000));
    const r = await inProcess(['validate', '--repo', dir], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${R}:${YAML_LIMITS.keys + 4}:3: error YAML_TOO_MANY_KEYS: mapping has more than ${YAML_LIMITS.keys} keys`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    await writeFile(join(dir, R), HOSTILE['keys in one flow mapping']!(1024 * 1024));
    const big = await inProcess(['validate', '--repo', dir, '--json'], { cwd: dir });
    expect(big.code).toBe(1);
    expect(JSON.parse(big.stdout).findings[0]).toMatchObject({ file: R, code: 'FILE_TOO_LARGE' });
  });
});

describe('what the scan must not refuse', () => {
  it('accepts indicator characters inside scalars, comments and block scalars', async () => {
    const valid = await readFile(join(FIXTURES, 'valid', R), 'utf8');
    const reason = `reason: |
    INC-4411: R&D *urgent* - see [runbook] {x}: it's "quoted" # not a comment
    - not a list item
    &not-an-anchor *not-an-alias
  resource: prod-eu`;
    const text = valid.replace(/^ {2}reason: .*\n {2}resource: prod-eu$/m, `  ${reason}`);
    expect(text).not.toBe(valid);
    const r = load(text);
    expect(r.findings).toEqual([]);
    expect((r as { value: { spec: { reason: string } } }).value.spec.reason).toContain('&not-an-anchor *not-an-alias');
  });

  it('accepts a multi-line quoted scalar that holds brackets and colons', () => {
    const found = codes("a: \"one [two: {three\n  four]: five\"\nb: 'it''s [x\n  y'\n");
    expect(found.length).toBeGreaterThan(0);
    expect(found.filter((c) => c.startsWith('YAML_'))).toEqual([]);
  });

  it('reads a quote or "&" that continues a plain scalar as text, so it cannot hide what follows', () => {
    expect(codes("a: x\n  'y &z\n")).toEqual(codes('a: x y\n'));
    const r = load(`a: x\n  'y\nb: ${'['.repeat(40)}${']'.repeat(40)}\n`);
    expect(r.findings[0]).toMatchObject({ code: 'YAML_TOO_DEEP', line: 3 });
  });

  it('accepts a leading document marker and a directive', () => {
    const r = loadDocument(R, Buffer.from(`%YAML 1.2\n---\n${HOSTILE['distinct keys']!(10).split('metadata')[0]}`), 'Request');
    expect(r.findings.map((f) => f.code)).not.toContain('YAML_MULTI_DOC');
  });
});

describe('duplicate keys, found in one pass', () => {
  it('reports a duplicate key in a nested mapping at the second key', () => {
    const r = load('a:\n  b: 1\n  c: 2\n  b: 3\n');
    expect(r.findings[0]).toMatchObject({ code: 'YAML_DUPLICATE_KEY', line: 4, col: 3, message: 'key "b" appears twice in the same mapping; keep one' });
  });
  it('treats 1 and "1" as the same key, as they are after parsing', () => {
    expect(codes('a:\n  1: x\n  "1": y\n')).toContain('YAML_DUPLICATE_KEY');
  });
  it('refuses a list or a mapping used as a key: YAML_COMPLEX_KEY', () => {
    expect(codes('? [a, b]\n: 1\n')).toContain('YAML_COMPLEX_KEY');
  });
});

describe('every reader goes through the same limits', () => {
  it('the runner and verify read a commit through loadRepository: the hostile request is a finding, not a stall', async () => {
    const dir = await scratch();
    await writeFile(join(dir, R), HOSTILE['distinct keys']!(250 * 1000));
    const git = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], { encoding: 'utf8' });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('-c', 'user.email=t@example.invalid', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'hostile');
    const model = await loadRepository(await CommitSource.open(dir, 'HEAD'));
    expect(model.findings.filter((f) => f.file === R).map((f) => f.code)).toEqual(['YAML_TOO_MANY_KEYS']);
    expect(model.sessions.get('inc-4411-prod-crashloop')?.request?.value).toBeUndefined();
  });

  it('a NetworkPolicy manifest (pinned by digest) is scanned too: NETPOL_INVALID naming the limit', async () => {
    const bytes = Buffer.from(HOSTILE['flow nesting']!(4000));
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(() => readManifest('netpol.yaml', bytes, sha)).toThrow(/YAML_TOO_DEEP/);
  });
});
