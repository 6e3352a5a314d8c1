/**
 * The documents the Action tests and benchmark write: a policy in the shape of
 * DESIGN.md, requests created a minute ago, approvals and rejections. No
 * test-runner imports, so bench/action.js can load it with Node's type stripping.
 */
import { createHash, randomBytes } from 'node:crypto';

export const OWNER = 'customer';
export const REPO = 'access';
export const RECIPIENT = '0123456789ABCDEF0123456789ABCDEF01234567';

/** A policy in the shape of DESIGN.md, for a Kubernetes and a command resource. */
export const POLICY = `apiVersion: breakglass.dev/v1
kind: Policy
metadata: { name: production }
spec:
  requesters: ["*@vendor.example"]
  recipients: [${RECIPIENT}]
  approvals: { required: 2, approvers: [alice, bob, carol], allowSelfApproval: false }
  requestExpiry: 4h
  reason: { pattern: "^INC-[0-9]+", minLength: 20 }
  resources:
    - name: prod-eu
      type: kubernetes
      privileges: [cluster-admin, "admin:payments", view]
      maxDuration: 2h
      network: [direct, tailscale, networkpolicy]
    - name: orders-db
      type: command
      privileges: [read-write]
      maxDuration: 1h
      network: [twingate]
      commands:
        - name: db-password
          run: [scripts/db-password.sh, "{database}"]
          inputs: { database: "^(orders|billing)$" }
          revoke: [scripts/db-revoke.sh, "{database}"]
`;

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A request created a minute ago (policy requests go stale after 4h). */
export function request(id: string, spec: Partial<Record<'reason' | 'resource' | 'privilege' | 'duration' | 'network', string>> & { command?: string } = {}): string {
  const s = { reason: 'INC-4411: api pods crash-looping after cert rotation', resource: 'prod-eu', privilege: 'cluster-admin', duration: '1h', network: 'tailscale', ...spec };
  return [
    'apiVersion: breakglass.dev/v1',
    'kind: Request',
    'metadata:',
    `  id: ${id}`,
    '  requester: oncall@vendor.example',
    `  created: ${isoSeconds(Date.now() - 60_000)}`,
    'spec:',
    `  reason: ${JSON.stringify(s.reason)}`,
    `  resource: ${s.resource}`,
    `  privilege: ${JSON.stringify(s.privilege)}`,
    `  duration: ${s.duration}`,
    `  network: ${s.network}`,
    `  recipient: ${RECIPIENT}`,
    ...(spec.command ? [`  command: ${spec.command}`] : []),
    '',
  ].join('\n');
}

/** sha256:<hex> of a file's exact bytes, as approvals bind. */
export function digestOf(text: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** An approval document for `digest`, valid for an hour. */
export function approval(id: string, approver: string, digest: string, repository = `github.com/${OWNER}/${REPO}`): string {
  const now = Date.now();
  return [
    'apiVersion: breakglass.dev/v1',
    'kind: Approval',
    `session: ${id}`,
    `request: ${digest}`,
    `repository: ${repository}`,
    `approver: ${approver}`,
    'decision: approve',
    `signed: ${isoSeconds(now - 30_000)}`,
    `expires: ${isoSeconds(now + 3_600_000)}`,
    `nonce: "${randomBytes(16).toString('hex')}"`,
    '',
  ].join('\n');
}

/** A rejection document. */
export function rejection(id: string, digest: string, by: string, reason: string): string {
  return [
    'apiVersion: breakglass.dev/v1',
    'kind: Rejection',
    `session: ${id}`,
    `request: ${digest}`,
    `by: ${by}`,
    `at: ${isoSeconds(Date.now() - 10_000)}`,
    `reason: ${JSON.stringify(reason)}`,
    '',
  ].join('\n');
}
