/**
 * The Sigstore conformance suite's bundle-verification cases (real public
 * bundles, copied into test/fixtures/sigstore-conformance/ with their README),
 * each run through OUR verifier with the outcome the suite expects: a case
 * whose name ends in `_fail` is refused, any other verifies, except the cases
 * refused by design (DSSE envelopes: an approval is a plain signature over the
 * approval file's bytes; see docs/security/sigstore.md). Every outcome is
 * pinned to its precise code, so a case that starts failing for another
 * reason shows up here.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { approvalYaml } from './helpers/approvals.js';
import { approverFor, artifactOf, BEACON, bundleOf, CONFORMANCE, has, outcome, rootOf } from './helpers/sigstore-conformance.js';

/** What each case must give: 'ok', or the refusal code. */
const EXPECTED: Record<string, string> = {
  'bundle-empty-certificate-chain_fail': 'SIGNATURE_MALFORMED',
  'bundle-from-wrong-instance_fail': 'SIGSTORE_ROOT_MISMATCH',
  'bundle-invalid-base64-signature_fail': 'SIGSTORE_INVALID',
  'bundle-malformed-json_fail': 'SIGNATURE_MALFORMED',
  'bundle-negative-log-index_fail': 'SIGSTORE_INVALID',
  'bundle-unknown-version_fail': 'SIGNATURE_MALFORMED',
  'bundle-with-root-cert_fail': 'SIGNATURE_MALFORMED',
  'bundle-with-sct-with-extensions': 'ok',
  'checkpoint-bad-keyhint_fail': 'SIGSTORE_INVALID',
  'checkpoint-wrong-roothash_fail': 'SIGSTORE_INVALID',
  'dsse-invalid-sig_fail': 'SIGSTORE_DSSE_REFUSED',
  'dsse-mismatch-envelope_fail': 'SIGSTORE_DSSE_REFUSED',
  'dsse-mismatch-sig_fail': 'SIGSTORE_DSSE_REFUSED',
  'happy-path-intoto-in-dsse-v3': 'SIGSTORE_DSSE_REFUSED',
  'happy-path-v0.1': 'ok',
  'happy-path-v0.2': 'ok',
  'happy-path-v0.3': 'ok',
  'happy-path-v0.3-new-mediaType': 'ok',
  'inclusion-proof-corrupted-hash_fail': 'SIGSTORE_INVALID',
  'incorrect-public-key_fail': 'SIGSTORE_INVALID',
  'integrated-time-in-future_fail': 'SIGSTORE_INVALID',
  'intoto-expired-certificate_fail': 'SIGSTORE_DSSE_REFUSED',
  'intoto-log-entry-mismatch_fail': 'SIGSTORE_DSSE_REFUSED',
  'intoto-missing-inclusion-proof_fail': 'SIGSTORE_DSSE_REFUSED',
  'intoto-set-outside-signing-cert-validity_fail': 'SIGSTORE_DSSE_REFUSED',
  'intoto-tsa-timestamp-outside-cert-validity_fail': 'SIGSTORE_DSSE_REFUSED',
  'intoto-with-custom-trust-root': 'SIGSTORE_DSSE_REFUSED',
  'invalid-checkpoint-signature_fail': 'SIGSTORE_INVALID',
  'invalid-ct-key_fail': 'SIGSTORE_INVALID',
  'invalid-inclusion-proof_fail': 'SIGNATURE_MALFORMED',
  'managed-key-and-trusted-root': 'ok',
  'managed-key-happy-path': 'ok',
  'managed-key-no-key_fail': 'SIGSTORE_KEY_UNTRUSTED',
  'managed-key-wrong-key_fail': 'SIGSTORE_KEY_UNTRUSTED',
  'message-digest-mismatch_fail': 'SIGSTORE_DIGEST_MISMATCH',
  'rekor2-checkpoint-cosigned': 'ok',
  'rekor2-checkpoint-missing-log-signature_fail': 'SIGSTORE_INVALID',
  'rekor2-checkpoint-missing-origin_fail': 'SIGSTORE_INVALID',
  'rekor2-checkpoint-missing-root-hash_fail': 'SIGSTORE_INVALID',
  'rekor2-checkpoint-missing-size_fail': 'SIGSTORE_INVALID',
  'rekor2-checkpoint-multiple-cosigs': 'ok',
  'rekor2-checkpoint-no-matching-signature_fail': 'SIGSTORE_INVALID',
  'rekor2-checkpoint-origin-not-first': 'ok',
  'rekor2-checkpoint-two-sigs-cosigned': 'ok',
  'rekor2-checkpoint-two-sigs-from-origin': 'ok',
  'rekor2-dsse-happy-path': 'SIGSTORE_DSSE_REFUSED',
  'rekor2-dsse-invalid-sig_fail': 'SIGSTORE_DSSE_REFUSED',
  'rekor2-dsse-mismatch-envelope_fail': 'SIGSTORE_DSSE_REFUSED',
  'rekor2-dsse-mismatch-sig_fail': 'SIGSTORE_DSSE_REFUSED',
  'rekor2-happy-path': 'ok',
  'rekor2-no-inclusion-proof_fail': 'SIGNATURE_MALFORMED',
  'rekor2-no-timestamp_fail': 'SIGSTORE_INVALID',
  'rekor2-timestamp-outside-trust-root-tsa-validity_fail': 'SIGSTORE_INVALID',
  'rekor2-timestamp-outside-tsa-cert-validity_fail': 'SIGSTORE_INVALID',
  'rekor2-timestamp-payload-mismatch_fail': 'SIGSTORE_INVALID',
  'rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail': 'SIGSTORE_INVALID',
  'rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail': 'SIGSTORE_INVALID',
  'rekor2-timestamp-with-embedded-cert': 'ok',
  'rekor2-timestamp-with-expired-cert-chain': 'ok',
  'rekor2-timestamp-with-incorrect-time_fail': 'SIGSTORE_INVALID',
  'rekor2-timestamp-without-embedded-cert': 'ok',
  'set-invalid-signature_fail': 'SIGSTORE_INVALID',
  'signature-mismatch_fail': 'SIGSTORE_INVALID',
  'trust-root-tlog-missing-validity-start_fail': 'TRUST_INVALID',
  'trust-root-tlog-validity-end-inclusive': 'ok',
  'trust-root-tsa-validity-end-inclusive': 'ok',
  'wrong-hashedrekord-artifact_fail': 'SIGSTORE_INVALID',
  'wrong-hashedrekord-cert-and-sig_fail': 'SIGSTORE_INVALID',
  'wrong-hashedrekord-entry_fail': 'SIGSTORE_INVALID',
  'wrong-material_fail': 'SIGSTORE_DIGEST_MISMATCH',
};

/** Cases the suite expects to verify that we refuse on purpose, and why (listed in docs/security/sigstore.md). */
const REFUSED_BY_DESIGN: Record<string, string> = {
  'happy-path-intoto-in-dsse-v3': 'DSSE envelope: signs an in-toto statement, not the approval bytes',
  'intoto-with-custom-trust-root': 'DSSE envelope (intoto log entry): signs an in-toto statement, not the approval bytes',
  'rekor2-dsse-happy-path': 'DSSE envelope (hashedrekord over PAE): signs an in-toto statement, not the approval bytes',
};

const CASES = readdirSync(CONFORMANCE)
  .filter((d) => has(d, 'bundle.sigstore.json'))
  .sort();
const isDsse = (c: string) => bundleOf(c).toString('utf8').includes('"dsseEnvelope"');

describe('the Sigstore conformance suite, through our verifier', () => {
  it('has all 70 cases, and an expected outcome for each', () => {
    expect(CASES).toHaveLength(70);
    expect(Object.keys(EXPECTED).sort()).toEqual(CASES);
  });

  it.each(CASES)('%s gets the expected outcome', (c) => {
    const got = outcome(bundleOf(c), artifactOf(c), [approverFor(c)]);
    expect(got).toBe(EXPECTED[c]);
    // The table itself must agree with the suite: `_fail` is refused; anything else verifies unless refused by design.
    if (c.endsWith('_fail')) expect(got).not.toBe('ok');
    else if (REFUSED_BY_DESIGN[c]) expect(got).toBe('SIGSTORE_DSSE_REFUSED');
    else expect(got).toBe('ok');
  });
});

describe('a DSSE bundle never verifies as a signature over an approval', () => {
  const dsse = CASES.filter(isDsse);
  const approval = Buffer.from(approvalYaml('bob', `sha256:${'ab'.repeat(32)}`));

  it('there are DSSE cases to try, and every one refused by design is among them', () => {
    expect(dsse.length).toBeGreaterThanOrEqual(14);
    for (const c of Object.keys(REFUSED_BY_DESIGN)) expect(dsse).toContain(c);
  });

  it.each(dsse)("%s over an approval file's bytes: SIGSTORE_DSSE_REFUSED", (c) => {
    expect(outcome(bundleOf(c), approval, [approverFor(c)])).toBe('SIGSTORE_DSSE_REFUSED');
  });

  it('even with a key-based trust entry beside the keyless one', () => {
    const c = 'happy-path-intoto-in-dsse-v3';
    const key = approverFor('managed-key-happy-path', 'carol');
    expect(outcome(bundleOf(c), approval, [key, approverFor(c)])).toBe('SIGSTORE_DSSE_REFUSED');
  });

  it('why: sigstore-js alone accepts a public DSSE attestation for ANY bytes', () => {
    // The attack this refusal closes: the artifact is never looked at for a DSSE bundle.
    const c = 'happy-path-intoto-in-dsse-v3';
    const entity = toSignedEntity(bundleFromJSON(JSON.parse(bundleOf(c).toString('utf8'))), approval);
    const signer = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(rootOf(c)))).verify(entity);
    expect(signer.identity?.subjectAlternativeName).toBe(BEACON);
  });
});
