// Verifying 1,000 approvals: breakglass against `gpg --verify` over the same
// files, in the same run. Figures are printed next to their baseline with the
// ratio; nothing here asserts a time (machines differ).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadDocument } from '../lib/core/document.js';
import { sha256Digest } from '../lib/core/digest.js';
import { verifyApprovals } from '../lib/core/verify.js';
import { generateKeyPair, readPrivateKey, readPublicKey, signDetached, verifyDetached } from '../lib/crypto/openpgp.js';
import { gpgHome, gpgVerify, POLICY, timed } from './common/baseline.js';

const N = 1000;
const NOW = Date.parse('2026-11-21T02:30:00Z');
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

const row = (label, ms, base) =>
  `  ${label.padEnd(52)} ${ms.toFixed(0).padStart(7)} ms   baseline gpg --verify ${base.toFixed(0).padStart(7)} ms   ratio ${(ms / base).toFixed(3)}x (${(base / ms).toFixed(1)}x faster)`;

export default async function bench() {
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-'));
  const { key, digest, files } = await fixtures(dir);
  const env = gpgHome(dir, [key.publicKey]);
  const pub = await readPublicKey(key.publicKey);
  const trust = { threshold: 1, approvers: [{ name: 'alice', key: { type: 'openpgp', key: pub } }] };
  const policy = loadDocument('policies/production.yaml', Buffer.from(POLICY), 'Policy').value;
  const inputs = files.map((p) => ({ path: p, bytes: readFileSync(p), sig: readFileSync(`${p}.asc`) }));

  const [gpgMs] = await timed(async () => {
    for (const f of files) await gpgVerify(env, f);
  });
  const [sigMs] = await timed(async () => {
    for (const f of inputs) await verifyDetached(f.bytes, f.sig, [pub], new Date(NOW));
  });
  const [fullMs] = await timed(async () => {
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
