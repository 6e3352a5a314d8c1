/**
 * `validate` on bad input: each fixture under test/fixtures/invalid/ is laid
 * over test/fixtures/base/ (DESIGN.md's example policy, verbatim) and must
 * exit 1 with one precise finding at file:line:col — never a stack trace.
 */
import { cp, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT } from './helpers/cli.js';
import { CLI_INVOCATION } from '../src/core/invocation.js';

const FIXTURES = join(ROOT, 'test', 'fixtures');
const NOW = Date.parse('2026-11-21T03:00:00Z');
const R = 'sessions/inc-4411-prod-crashloop/request.yaml';
const C = 'sessions/inc-4412-orders-db/request.yaml';

/** case -> [code, file, line, col] of the finding it must produce. */
const EXPECTED: Record<string, [string, string, number, number]> = {
  'unknown-key': ['SCHEMA_UNKNOWN_KEY', R, 14, 3],
  'duplicate-key': ['YAML_DUPLICATE_KEY', R, 14, 3],
  'missing-field': ['SCHEMA_MISSING', R, 7, 1],
  'wrong-api-version': ['API_VERSION', R, 1, 13],
  'wrong-kind': ['KIND', R, 2, 7],
  'id-not-folder': ['REQUEST_ID_MISMATCH', R, 4, 7],
  'id-dot-dot': ['ID_INVALID', R, 4, 7],
  'id-slash': ['ID_INVALID', R, 4, 7],
  'id-upper-case': ['ID_INVALID', 'sessions/INC-4411/request.yaml', 1, 1],
  'id-too-long': ['ID_INVALID', `sessions/${'a'.repeat(64)}/request.yaml`, 1, 1],
  'duration-over-max': ['POLICY_DURATION', R, 11, 13],
  'duration-malformed': ['DURATION_INVALID', R, 11, 13],
  'duration-number': ['SCHEMA_TYPE', R, 11, 13],
  'privilege-not-allowed': ['POLICY_PRIVILEGE', R, 10, 14],
  'network-not-allowed': ['POLICY_NETWORK', R, 12, 12],
  'network-unknown': ['SCHEMA_VALUE', R, 12, 12],
  'reason-pattern': ['POLICY_REASON_PATTERN', R, 8, 11],
  'reason-too-short': ['POLICY_REASON_LENGTH', R, 8, 11],
  'input-pattern': ['POLICY_INPUT', C, 17, 17],
  'input-metacharacters': ['INPUT_UNSAFE', C, 17, 17],
  'input-command-substitution': ['INPUT_UNSAFE', C, 17, 17],
  'input-newline': ['INPUT_UNSAFE', C, 17, 17],
  'input-leading-dash': ['INPUT_UNSAFE', C, 17, 17],
  'input-unknown': ['POLICY_INPUT', C, 18, 13],
  'input-missing': ['POLICY_INPUT', C, 17, 7],
  'requester-not-allowed': ['POLICY_REQUESTER', R, 5, 14],
  'requester-lookalike-domain': ['POLICY_REQUESTER', R, 5, 14],
  'requester-zero-width': ['IDENTITY_INVISIBLE_CHAR', R, 5, 14],
  'requester-homoglyph': ['IDENTITY_CONFUSABLE_CHAR', R, 5, 14],
  'recipient-not-allowed': ['POLICY_RECIPIENT', R, 13, 14],
  'recipient-malformed': ['FINGERPRINT_INVALID', R, 13, 14],
  'resource-unknown': ['POLICY_RESOURCE', R, 9, 13],
  'command-on-kubernetes': ['POLICY_COMMAND', R, 14, 12],
  'time-malformed': ['TIME_INVALID', R, 6, 12],
  'stale-request': ['REQUEST_STALE', R, 6, 12],
  'future-request': ['REQUEST_FUTURE', R, 6, 12],
  'alias-bomb': ['YAML_ALIAS', R, 1, 4],
  'invalid-utf8': ['FILE_ENCODING', R, 8, 45],
  tabs: ['FILE_TAB', R, 12, 1],
  crlf: ['FILE_CRLF', R, 1, 30],
  bom: ['FILE_BOM', R, 1, 1],
  'bidi-override': ['FILE_BIDI', R, 8, 31],
  'ansi-escape': ['VALUE_CONTROL_CHAR', R, 8, 11],
  'multi-document': ['YAML_MULTI_DOC', R, 14, 1],
  'unexpected-session-file': ['SESSION_LAYOUT', 'sessions/inc-4411-prod-crashloop/notes.sh', 1, 1],
  'policy-threshold-impossible': ['POLICY_APPROVALS', 'policies/production.yaml', 7, 26],
  'policy-partial-placeholder': ['POLICY_INVALID', 'policies/production.yaml', 23, 41],
};

async function repoWith(...layers: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-validate-'));
  for (const layer of layers) await cp(layer, dir, { recursive: true });
  return dir;
}

describe('validate on the valid fixtures', () => {
  it('exits 0 on DESIGN.md example policy with a kubernetes and a command request', async () => {
    const dir = await repoWith(join(FIXTURES, 'base'), join(FIXTURES, 'valid'));
    const r = await cli(['validate', '--repo', dir], { cwd: dir, now: NOW });
    // Nothing approves the fixture policy: validate passes its rules and says the runner would refuse it.
    expect(r.stderr).toBe(
      `note: policy production has no approval of its current bytes: the runner refuses every session it governs until approvers sign it (${CLI_INVOCATION} approve --policy production --key <your-key.asc> --commit)`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ok: 1 policy, 2 sessions');
  });
});

describe('validate on bad input', () => {
  it('has an expectation for every fixture folder, and at least 20 of them', async () => {
    const cases = (await readdir(join(FIXTURES, 'invalid'))).sort();
    expect(cases).toEqual(Object.keys(EXPECTED).sort());
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  for (const [name, [code, file, line, col]] of Object.entries(EXPECTED)) {
    it(`rejects ${name} with ${code} at ${file}:${line}:${col}`, async () => {
      const dir = await repoWith(join(FIXTURES, 'base'), join(FIXTURES, 'invalid', name));
      const r = await cli(['validate', '--repo', dir], { cwd: dir, now: NOW });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${file}:${line}:${col}: error ${code}: `);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stdout).toBe('validation failed');
    });
  }

  it('refuses a 5 MB file before parsing it', async () => {
    const dir = await repoWith(join(FIXTURES, 'base'), join(FIXTURES, 'valid'));
    const big = Buffer.from(`apiVersion: breakglass.dev/v1\nkind: Request\n# ${'x'.repeat(5 * 1024 * 1024)}\n`);
    await writeFile(join(dir, R), big);
    const r = await cli(['validate', '--repo', dir], { cwd: dir, now: NOW });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${R}:1:1: error FILE_TOO_LARGE: file is ${big.length} bytes; at most 262144 bytes are accepted`);
  });

  it('reports every finding of a file together, top to bottom', async () => {
    const dir = await repoWith(join(FIXTURES, 'base'), join(FIXTURES, 'valid'));
    const bad = (await import('node:fs'))
      .readFileSync(join(FIXTURES, 'valid', R), 'utf8')
      .replace('duration: 1h', 'duration: 9h')
      .replace('network: tailscale', 'network: twingate')
      .replace('oncall@', 'eve@evil')
      .replace('vendor.example', 'vendor.example.evil');
    await writeFile(join(dir, R), bad);
    const r = await cli(['validate', '--repo', dir], { cwd: dir, now: NOW });
    const codes = [...r.stderr.matchAll(/error ([A-Z_]+):/g)].map((m) => m[1]);
    expect(codes).toEqual(['POLICY_REQUESTER', 'POLICY_DURATION', 'POLICY_NETWORK']);
  });

  it('prints one JSON document on stdout with --json, and nothing else there', async () => {
    const dir = await repoWith(join(FIXTURES, 'base'), join(FIXTURES, 'invalid', 'duration-over-max'));
    const r = await cli(['validate', '--repo', dir, '--json'], { cwd: dir, now: NOW });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.findings[0]).toMatchObject({ file: R, line: 11, col: 13, code: 'POLICY_DURATION', severity: 'error' });
    expect(doc.sessions[0]).toMatchObject({ id: 'inc-4411-prod-crashloop', status: 'pending', policy: 'production', violations: ['POLICY_DURATION'] });
  });
});
