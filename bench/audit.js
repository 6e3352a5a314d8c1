// Auditing a history of 1,000 sessions (request, signed approval, signed
// runner record: 3,001 commits), against a baseline measured in the same run:
// `git log -p` over the same history plus one `gpg --verify` per signed file,
// as a script an auditor might write would do it. Figures and ratios are
// printed; nothing asserts a time (machines differ).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { auditHistory } from '../lib/core/audit.js';
import { sha256Digest } from '../lib/core/digest.js';
import { readHistory } from '../lib/adapters/history.js';
import { generateKeyPair, readPrivateKey, readPublicKey, signDetached } from '../lib/crypto/openpgp.js';
import { gpgHome, gpgVerify, POLICY, timed } from './common/baseline.js';

const N = 1000;
const REPO = 'github.com/customer/access';
const T0 = Date.parse('2026-11-21T00:00:00Z');
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
/** git fast-import, with `get-mark` answered on stdout so records can name their activation commit. */
function importer(dir) {
  const p = spawn('git', ['-C', dir, 'fast-import', '--quiet', '--done'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const waiting = [];
  p.stdout.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0 && waiting.length; i = buf.indexOf('\n')) waiting.shift()(buf.slice(0, i)), (buf = buf.slice(i + 1));
  });
  let mark = 0;
  const write = (s) => p.stdin.write(s);
  return {
    commit(at, files) {
      for (const f of files) (f.mark = ++mark), write(`blob\nmark :${f.mark}\ndata ${f.bytes.length}\n`), write(f.bytes), write('\n');
      const m = ++mark;
      write(`commit refs/heads/main\nmark :${m}\ncommitter bench <bench@example.invalid> ${Math.floor(at / 1000)} +0000\ndata 1\nc\n`);
      for (const f of files) write(`M 100644 :${f.mark} ${f.path}\n`);
      return m;
    },
    oid: (m) => new Promise((res) => (waiting.push(res), write(`get-mark :${m}\n`))),
    done: () => new Promise((res, rej) => (p.on('close', (c) => (c === 0 ? res() : rej(new Error(`fast-import exited ${c}`)))), p.stdin.end('done\n'))),
  };
}

const doc = (o) => Buffer.from(stringify(o, { lineWidth: 0 }));
const nonce = () => randomBytes(16).toString('hex');

async function signed(path, bytes, key, at, signedFiles) {
  const sig = Buffer.from(await signDetached(key, bytes, new Date(at)));
  signedFiles.push({ path, bytes, sig });
  return [
    { path, bytes },
    { path: `${path}.asc`, bytes: sig },
  ];
}

async function oneSession(fi, i, k, policyDigest, signedFiles) {
  const id = `inc-${i}`;
  const base = T0 + i * 60_000;
  const request = doc({
    apiVersion: 'breakglass.dev/v1',
    kind: 'Request',
    metadata: { id, requester: 'oncall@vendor.example', created: iso(base) },
    spec: { reason: `INC-${i}: bench session`, resource: 'prod-eu', privilege: 'view', duration: '1h', network: 'direct', recipient: '0123456789ABCDEF0123456789ABCDEF01234567' },
  });
  fi.commit(base, [{ path: `sessions/${id}/request.yaml`, bytes: request }]);
  const approval = Buffer.from(
    stringify(
      {
        apiVersion: 'breakglass.dev/v1',
        kind: 'Approval',
        session: id,
        request: sha256Digest(request),
        repository: REPO,
        approver: 'alice',
        decision: 'approve',
        signed: iso(base + 10_000),
        expires: iso(base + 3_600_000),
        nonce: nonce(),
      },
      { lineWidth: 0 },
    ).replace(/^nonce: (\w+)$/m, 'nonce: "$1"'),
  );
  const activation = await fi.oid(fi.commit(base + 20_000, await signed(`sessions/${id}/approvals/alice.yaml`, approval, k.alice, base + 10_000, signedFiles)));
  const objects = [{ kind: 'ServiceAccount', apiVersion: 'v1', namespace: 'breakglass-system', name: `bg-${id}` }];
  const record = doc({
    apiVersion: 'breakglass.dev/v1',
    kind: 'Record',
    session: id,
    request: sha256Digest(request),
    repository: REPO,
    commit: activation,
    outcome: 'ended',
    runner: { id: 'runner-0', fingerprint: k.runnerFpr },
    approvals: [{ approver: 'alice', fingerprint: `openpgp:${k.aliceFpr}`, file: sha256Digest(approval) }],
    policy: { name: 'production', digest: policyDigest },
    activated: iso(base + 30_000),
    expires: iso(base + 3_630_000),
    ended: iso(base + 40_000),
    endReason: 'end requested',
    objects,
    credential: { kind: 'kubernetes-token', sha256: sha256Digest(Buffer.from(id)), delivery: { channel: 'directory' } },
    teardown: { deleted: structuredClone(objects), completed: iso(base + 40_000), errors: [] },
    revocation: { method: 'TokenReview', at: iso(base + 40_000), result: 'unauthenticated' },
  });
  fi.commit(base + 45_000, await signed(`sessions/${id}/record.yaml`, record, k.runner, base + 40_000, signedFiles));
}

async function build(dir) {
  const date = new Date('2026-01-01T00:00:00Z');
  const alice = await generateKeyPair({ name: 'alice', email: 'alice@customer.example', date });
  const runner = await generateKeyPair({ name: 'runner', email: 'runner@customer.example', date });
  const k = { alice: await readPrivateKey(alice.privateKey), runner: await readPrivateKey(runner.privateKey), aliceFpr: alice.fingerprint, runnerFpr: runner.fingerprint };
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const fi = importer(dir);
  const signedFiles = [];
  const policy = Buffer.from(POLICY);
  const pa = Buffer.from(
    `apiVersion: breakglass.dev/v1\nkind: PolicyApproval\npolicy: production\ndigest: ${sha256Digest(policy)}\nrepository: ${REPO}\napprover: alice\nsigned: 2026-11-01T00:00:00Z\nnonce: "${nonce()}"\n`,
  );
  fi.commit(T0 - 60_000, [
    { path: 'policies/production.yaml', bytes: policy },
    ...(await signed('policies/approvals/production/alice.yaml', pa, k.alice, Date.parse('2026-11-01T00:00:00Z'), signedFiles)),
  ]);
  for (let i = 0; i < N; i++) await oneSession(fi, i, k, sha256Digest(policy), signedFiles);
  await fi.done();
  return { alice, runner, signedFiles };
}

async function baseline(dir, work, keys, signedFiles) {
  const env = gpgHome(
    work,
    keys.map((k) => k.publicKey),
  );
  const files = signedFiles.map((f, i) => {
    const path = join(work, 'files', `${i}.yaml`);
    mkdirSync(join(work, 'files'), { recursive: true });
    writeFileSync(path, f.bytes);
    writeFileSync(`${path}.asc`, f.sig);
    return path;
  });
  const [logMs] = await timed(async () => execFileSync('git', ['-C', dir, 'log', '-p', '--first-parent', 'main'], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }));
  const [gpgMs] = await timed(async () => {
    for (const f of files) await gpgVerify(env, f);
  });
  return { logMs, gpgMs, count: files.length };
}

const row = (label, ms, base) => `  ${label.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms   baseline ${base.toFixed(0).padStart(7)} ms   ratio ${(ms / base).toFixed(3)}x`;

export default async function bench() {
  const work = mkdtempSync(join(tmpdir(), 'bg-bench-audit-'));
  const dir = join(work, 'repo');
  const { alice, runner, signedFiles } = await build(dir);
  const trust = { approvals: { threshold: 1, approvers: [{ name: 'alice', key: { type: 'openpgp', key: await readPublicKey(alice.publicKey) } }] }, runner: await readPublicKey(runner.publicKey) };
  const base = await baseline(dir, work, [alice, runner], signedFiles);
  const [readMs, history] = await timed(() => readHistory(dir, 'main'));
  const [checkMs, report] = await timed(() => auditHistory(history, trust, { repository: REPO, now: Date.now(), pollSeconds: 5, toleranceSeconds: 15 }));
  if (!report.clean || report.sessions.length !== N) throw new Error(`bench history did not audit clean: ${JSON.stringify(report.sessions.flatMap((s) => s.findings).slice(0, 3))}`);
  const baseMs = base.logMs + base.gpgMs;
  console.log(`audit ${N.toLocaleString('en')} sessions (${history.chain.length.toLocaleString('en')} commits, ${base.count.toLocaleString('en')} signed files), one run;`);
  console.log('  (baseline: git log -p over the branch, then one gpg --verify process per signed file)');
  console.log(row('read history (git log --raw, cat-file --batch)', readMs, base.logMs) + '  vs git log -p');
  console.log(row('verify (records, approvals, policies, bounds)', checkMs, base.gpgMs) + '  vs gpg --verify');
  console.log(row('breakglass audit, total', readMs + checkMs, baseMs) + `  (${(baseMs / (readMs + checkMs)).toFixed(1)}x faster)`);
}
