// Verifying keyless sigstore approvals: breakglass's checklist (DSSE refusal,
// digest binding, log-entry kinds, the approver's own schema-checked root,
// log key windows) against @sigstore/verify's Verifier alone over the same
// real public bundle, in the same run. Figures are printed next to their
// baseline with the ratio; nothing here asserts a time (machines differ).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { verifySigstoreBundle } from '../lib/crypto/sigstore.js';
import { timed } from './common/baseline.js';

const N = 40;
const ROUNDS = 5;
const here = dirname(fileURLToPath(import.meta.url));
const CASES = join(here, '..', 'test', 'fixtures', 'sigstore-conformance');
const BEACON = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';

const row = (label, ms, base) => `  ${label.padEnd(52)} ${ms.toFixed(0).padStart(7)} ms   baseline sigstore-js Verifier ${base.toFixed(0).padStart(7)} ms   ratio ${(ms / base).toFixed(3)}x`;

export default async function bench() {
  const bundle = readFileSync(join(CASES, 'happy-path-v0.3', 'bundle.sigstore.json'));
  const artifact = readFileSync(join(CASES, 'a.txt'));
  const rootJson = JSON.parse(readFileSync(join(CASES, 'trusted_root.public-good.json'), 'utf8'));
  const approvers = [{ name: 'bob', key: { type: 'sigstore-identity', issuer: 'https://token.actions.githubusercontent.com', subject: BEACON, trustedRoot: rootJson } }];
  const material = toTrustMaterial(TrustedRoot.fromJSON(rootJson));

  const baseline = () => new Verifier(material).verify(toSignedEntity(bundleFromJSON(JSON.parse(bundle.toString('utf8'))), artifact));
  const ours = () => verifySigstoreBundle(bundle, artifact, approvers, new Date());
  // Warm both paths, then alternate rounds and keep each side's fastest: a shared machine adds noise, never speed.
  for (let i = 0; i < 10; i++) baseline(), ours();
  let baseMs = Infinity;
  let oursMs = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    baseMs = Math.min(
      baseMs,
      (
        await timed(async () => {
          for (let i = 0; i < N; i++) baseline();
        })
      )[0],
    );
    oursMs = Math.min(
      oursMs,
      (
        await timed(async () => {
          for (let i = 0; i < N; i++) ours();
        })
      )[0],
    );
  }
  console.log(`verify ${N} keyless sigstore bundles (public-good, Rekor v1 with inclusion proof), sequential, fastest of ${ROUNDS} alternating rounds;`);
  console.log('  (baseline: sigstore-js parse + Verifier.verify with the root converted once, no identity policy)');
  console.log(row('breakglass verifySigstoreBundle (full checklist)', oursMs, baseMs));
}
