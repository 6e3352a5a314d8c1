// Verifying 1,000 approvals: breakglass against `gpg --verify` over the same
// files, in the same run. Figures are printed next to their baseline with the
// ratio; nothing here asserts a time (machines differ).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadDocument } from '../lib/core/document.js';
import { sha256Digest } from '../lib/core/digest.js';
import { verifyApprovals } from '../lib/core/verify.js';
import { generateKeyPair, readPrivateKey, readPublicKey, signDetached, verifyDetached } from '../lib/crypto/openpgp.js';

const N = 1000;
const NOW = Date.parse('2026-11-21T02:30:00Z');
const POLICY = `apiVersion: breakglass.dev/v1
kind: Policy
metadata: { name: production }
spec:
  requesters: ["*@vendor.example"]
  recipients: [0123456789ABCDEF0123456789ABCDEF01234567]
  approvals: { required: 1, approvers: [alice], allowSelfApproval: false }
  requestExpiry: 4h
  resources:
    - { name: prod-eu, type: kubernetes, privileges: [view], maxDuration: 2h, network: [direct] }
`;

function approval(i, digest) {
  return `apiVersion: breakglass.dev/v1\nkind: Approval\nsession: inc-${i}\nrequest: ${digest}\nrepository: github.com/customer/access\napprover: alice\ndecision: approve\nsigned: 2026-11-21T02:21:00Z\nexpires: 2026-11-21T03:21:00Z\nnonce: "${randomBytes(16).toString('hex')}"\n`;
}

async function fixtures(dir) {
  const key = await generateKeyPair({ name: 'alice', email: 'alice@customer.example', date: new Date('2026-01-01T00:00:00Z') });
  const priv = await readPrivateKey(key.privateKey);
  const digest = sha256Digest(Buffer.from('request'));
  const files = [];
  for (let i = 0; i < N; i++) {
    const path = join(dir, `a${i}.yaml`);
    const bytes = Buffer.from(approval(i, digest));
    writeFileSync(path, bytes);
    writeFileSync(`${path}.asc`, await signDetached(priv, bytes, new Date('2026-11-21T02:21:00Z')));
    files.push(path);
  }
  return { key, digest, files };
}

async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function gpgVerify(env, path) {
  return new Promise((resolve, reject) => {
    const p = spawn('gpg', ['--batch', '--quiet', '--verify', `${path}.asc`, path], { env, stdio: 'ignore' });
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`gpg --verify ${path} exited ${code}`))));
  });
}

const row = (label, ms, base) => `  ${label.padEnd(52)} ${ms.toFixed(0).padStart(7)} ms   baseline gpg --verify ${base.toFixed(0).padStart(7)} ms   ratio ${(ms / base).toFixed(3)}x (${(base / ms).toFixed(1)}x faster)`;

export default async function bench() {
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-'));
  const home = join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
  const { key, digest, files } = await fixtures(dir);
  execFileSync('gpg', ['--batch', '--quiet', '--import'], { env, input: key.publicKey, stdio: ['pipe', 'ignore', 'ignore'] });
  const pub = await readPublicKey(key.publicKey);
  const trust = { threshold: 1, approvers: [{ name: 'alice', key: { type: 'openpgp', key: pub } }] };
  const policy = loadDocument('policies/production.yaml', Buffer.from(POLICY), 'Policy').value;
  const inputs = files.map((p) => ({ path: p, bytes: readFileSync(p), sig: readFileSync(`${p}.asc`) }));

  const gpgMs = await timed(async () => {
    for (const f of files) await gpgVerify(env, f);
  });
  const sigMs = await timed(async () => {
    for (const f of inputs) await verifyDetached(f.bytes, f.sig, [pub], new Date(NOW));
  });
  const fullMs = await timed(async () => {
    for (const [i, f] of inputs.entries()) {
      const loaded = loadDocument(f.path, f.bytes, 'Approval');
      const file = { path: f.path, name: 'alice', bytes: f.bytes, digest: sha256Digest(f.bytes), value: loaded.value, signatures: [{ path: `${f.path}.asc`, bytes: f.sig, type: 'openpgp' }] };
      const subject = { sessionId: `inc-${i}`, requestDigest: digest, requester: 'oncall@vendor.example', duration: '1h', repository: 'github.com/customer/access', policy };
      const v = await verifyApprovals([file], subject, trust, NOW);
      if (!v.approved) throw new Error(`approval ${i} did not verify: ${JSON.stringify(v.reasons)}`);
    }
  });
  console.log(`verify ${N.toLocaleString('en')} approvals (ed25519, binary-mode detached signatures), sequential, one run;`);
  console.log('  (baseline: one gpg --verify process per file, as a script over the files would run it)');
  console.log(row('breakglass signature check (verifyDetached)', sigMs, gpgMs));
  console.log(row('breakglass full checklist (parse + verifyApprovals)', fullMs, gpgMs));
}
