/**
 * The repository documents a drill writes into its sandbox: a policy for the
 * one drill resource, its approval, the request, the approval and the end.
 * The same shapes a customer and a vendor write; nothing drill-specific is
 * trusted by the runner.
 */
import { randomBytes } from 'node:crypto';
import { writeYaml } from '../core/yaml-write.js';
import { API_VERSION } from '../core/schemas.js';
import { formatTime } from '../core/duration.js';

/** YAML as the CLI writes it (core/yaml-write.ts). */
export const yamlDoc = writeYaml;
const nonce = (): string => randomBytes(16).toString('hex');

export const DRILL_APPROVER = 'drill';
export const DRILL_REQUESTER = 'drill@breakglass.invalid';
export const DRILL_POLICY = 'drill';

/** What the drill rehearses: one session on one configured resource. */
export interface DrillSpec {
  session: string;
  resource: string;
  privilege: string;
  duration: string;
  recipient: string;
  repository: string;
}

export function drillPolicy(s: DrillSpec): string {
  return yamlDoc({
    apiVersion: API_VERSION,
    kind: 'Policy',
    metadata: { name: DRILL_POLICY },
    spec: {
      requesters: [DRILL_REQUESTER],
      recipients: [s.recipient],
      approvals: { required: 1, approvers: [DRILL_APPROVER], allowSelfApproval: false },
      requestExpiry: '1h',
      reason: { pattern: '^DRILL', minLength: 10 },
      resources: [{ name: s.resource, type: 'kubernetes', privileges: [s.privilege], maxDuration: s.duration, network: ['direct'] }],
    },
  });
}

export function policyApproval(s: DrillSpec, digest: string, now: number): string {
  return yamlDoc({ apiVersion: API_VERSION, kind: 'PolicyApproval', policy: DRILL_POLICY, digest, repository: s.repository, approver: DRILL_APPROVER, signed: formatTime(now), nonce: nonce() });
}

export function drillRequest(s: DrillSpec, now: number): string {
  return yamlDoc({
    apiVersion: API_VERSION,
    kind: 'Request',
    metadata: { id: s.session, requester: DRILL_REQUESTER, created: formatTime(now) },
    spec: { reason: `DRILL: break-glass rehearsal on ${s.resource}`, resource: s.resource, privilege: s.privilege, duration: s.duration, network: 'direct', recipient: s.recipient },
  });
}

export function drillApproval(s: DrillSpec, requestDigest: string, now: number): string {
  return yamlDoc({
    apiVersion: API_VERSION,
    kind: 'Approval',
    session: s.session,
    request: requestDigest,
    repository: s.repository,
    approver: DRILL_APPROVER,
    decision: 'approve',
    signed: formatTime(now),
    expires: formatTime(now + 15 * 60_000),
    nonce: nonce(),
  });
}

export function drillEnd(s: DrillSpec, now: number): string {
  return yamlDoc({ apiVersion: API_VERSION, kind: 'End', session: s.session, by: DRILL_REQUESTER, at: formatTime(now), reason: 'drill: ending the rehearsal session' });
}
