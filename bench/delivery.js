// The cost of signed deliveries: sealing with the runner's signature against
// sealing alone (what the runner did before), and `receive`'s full check
// (decrypt, signature, binding) against decrypting alone, in the same run.
// Figures only, next to their baseline, with the ratio; nothing asserts a time.
import { verifyDelivery } from '../lib/core/verify-delivery.js';
import { generateKeyPair, readPrivateKey, readPublicKey, sealTo, unseal } from '../lib/crypto/openpgp.js';
import { seal } from '../lib/runner/delivery.js';
import { timed } from './common/baseline.js';

const N = 200;

const row = (label, ms, base, baseLabel) =>
  `  ${label.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms   baseline ${baseLabel.padEnd(20)} ${base.toFixed(0).padStart(6)} ms   ratio ${(ms / base).toFixed(2)}x`;

export default async function bench() {
  const date = new Date('2026-01-01T00:00:00Z');
  const [vendor, runner] = await Promise.all([generateKeyPair({ name: 'vendor', email: 'v@example.invalid', date }), generateKeyPair({ name: 'runner', email: 'r@example.invalid', date })]);
  const vendorKey = await readPrivateKey(vendor.privateKey);
  const sealer = { signingKey: await readPrivateKey(runner.privateKey), publicKey: runner.publicKey };
  const pin = { key: await readPublicKey(runner.publicKey) };
  const payload = (i) => ({
    apiVersion: 'breakglass.dev/v1',
    kind: 'Credential',
    session: `inc-${i}`,
    type: 'kubernetes-token',
    server: 'https://prod-eu.example:6443',
    token: `eyJ${'x'.repeat(900)}`,
    expires: '2026-12-02T15:00:00Z',
  });
  const binding = (i) => ({
    session: `inc-${i}`,
    request: `sha256:${'0'.repeat(64)}`,
    commit: 'a'.repeat(40),
    repository: 'github.com/customer/access',
    recipient: vendor.fingerprint,
    runner: runner.fingerprint,
    sealed: '2026-12-02T13:00:00Z',
  });

  // Warm up both paths first, so neither figure carries the JIT's start-up.
  for (let i = 0; i < 20; i++) await verifyDelivery(await seal(payload(i), vendor.publicKey, sealer, binding(i)), vendorKey, pin, { session: `inc-${i}` }, new Date('2026-12-02T13:30:00Z'));
  for (let i = 0; i < 20; i++) await unseal(vendorKey, await sealTo(vendor.publicKey, new TextEncoder().encode(JSON.stringify(payload(i)))));
  const plain = [];
  const signed = [];
  const [sealMs] = await timed(async () => {
    for (let i = 0; i < N; i++) plain.push(await sealTo(vendor.publicKey, new TextEncoder().encode(JSON.stringify(payload(i)))));
  });
  const [signMs] = await timed(async () => {
    for (let i = 0; i < N; i++) signed.push(await seal(payload(i), vendor.publicKey, sealer, binding(i)));
  });
  const [openMs] = await timed(async () => {
    for (const m of plain) await unseal(vendorKey, m);
  });
  const now = new Date('2026-12-02T13:30:00Z');
  const [verifyMs] = await timed(async () => {
    for (const [i, m] of signed.entries()) await verifyDelivery(m, vendorKey, pin, { session: `inc-${i}` }, now);
  });
  console.log(`deliveries: ${N} Kubernetes credentials (ed25519/curve25519), sequential, one run;`);
  console.log(row('runner: sign, then seal (seal)', signMs, sealMs, 'seal only (sealTo)'));
  console.log(row('receive: decrypt + signature + binding', verifyMs, openMs, 'decrypt only'));
}
