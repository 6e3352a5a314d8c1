/** The Sigstore conformance cases in test/fixtures/sigstore-conformance/, laid out as the suite's README says. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifySigstoreBundle } from '../../src/crypto/sigstore.js';
import type { TrustedApprover } from '../../src/core/trust.js';

export const CONFORMANCE = join(import.meta.dirname, '..', 'fixtures', 'sigstore-conformance');
/** The Sigstore public-good trusted root (the suite's default when a case ships none), as @sigstore/tuf embeds it. */
export const PUBLIC_GOOD = 'trusted_root.public-good.json';
export const BEACON = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
export const ACTIONS = 'https://token.actions.githubusercontent.com';

export const read = (c: string, f: string) => readFileSync(join(CONFORMANCE, c, f));
export const has = (c: string, f: string) => existsSync(join(CONFORMANCE, c, f));
const text = (c: string, f: string, fallback: string) => (has(c, f) ? read(c, f).toString('utf8').trim() : fallback);
export const rootOf = (c: string): unknown => JSON.parse(has(c, 'trusted_root.json') ? read(c, 'trusted_root.json').toString('utf8') : readFileSync(join(CONFORMANCE, PUBLIC_GOOD), 'utf8'));
export const artifactOf = (c: string): Buffer => (has(c, 'artifact') ? read(c, 'artifact') : readFileSync(join(CONFORMANCE, 'a.txt')));
export const bundleOf = (c: string): Buffer => read(c, 'bundle.sigstore.json');

/** The trust entry the suite's harness would build: the case's key, or its identity under its root. */
export function approverFor(c: string, name = 'bob'): TrustedApprover {
  if (has(c, 'key.pub')) return { name, key: { type: 'sigstore-key', publicKeyPem: read(c, 'key.pub').toString('utf8') } };
  return { name, key: { type: 'sigstore-identity', issuer: text(c, 'issuer', ACTIONS), subject: text(c, 'identity', BEACON), trustedRoot: rootOf(c) } };
}

/** 'ok' or the code the verifier refused with. */
export function outcome(bundle: Uint8Array, artifact: Uint8Array, approvers: readonly TrustedApprover[]): string {
  try {
    verifySigstoreBundle(bundle, artifact, approvers, new Date('2026-11-21T02:30:00Z'));
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded: ${(e as Error).message}`;
  }
}
