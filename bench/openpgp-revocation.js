// What reading revocations by reason costs: verifying signatures by a key
// that carries a revocation as superseded (dated after them, so they stay
// valid) against the same key with no revocation, in the same run. The
// extra work is checking the revocation signature each time. No time is asserted.
import { generateKeyPair, readPrivateKey, readPublicKey, revoke, signDetached, verifyDetached } from '../lib/crypto/openpgp.js';
import { timed } from './common/baseline.js';

const N = 500;
const SIGNED = new Date('2026-11-10T00:00:00Z');
const JUDGED = new Date('2026-11-10T00:10:00Z');

export default async function bench() {
  const key = await generateKeyPair({ name: 'alice', email: 'alice@customer.example', date: new Date('2026-11-01T00:00:00Z') });
  const priv = await readPrivateKey(key.privateKey);
  const plain = await readPublicKey(key.publicKey);
  const superseded = await readPublicKey(await revoke(key.privateKey, { reason: 'superseded', date: new Date('2026-11-20T00:00:00Z') }));
  const inputs = [];
  for (let i = 0; i < N; i++) {
    const bytes = Buffer.from(`approval ${i}\n`);
    inputs.push({ bytes, sig: Buffer.from(await signDetached(priv, bytes, SIGNED)) });
  }
  const run = (k) =>
    timed(async () => {
      for (const f of inputs) await verifyDetached(f.bytes, f.sig, [k], JUDGED);
    });
  await run(plain); // warm-up: the first pass pays for JIT compilation
  const [baseMs] = await run(plain);
  const [revMs] = await run(superseded);
  console.log(`verify ${N} signatures (ed25519) by a key revoked as superseded after they were made, sequential, one run;`);
  console.log(`  key with a superseded revocation ${revMs.toFixed(0).padStart(7)} ms   baseline same key, no revocation ${baseMs.toFixed(0).padStart(7)} ms   ratio ${(revMs / baseMs).toFixed(3)}x`);
}
