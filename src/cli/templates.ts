import { CLI_INVOCATION } from '../core/invocation.js';

/** Files `breakglass init` writes. The policy validates as written; edit before use. */
export const STARTER_POLICY = `# yaml-language-server: $schema=../.breakglass/schemas/policy.json
# Who may ask for what, for how long, and who must approve.
# This file takes effect for the runner only once its exact bytes are approved:
#   ${CLI_INVOCATION} approve --policy production --key <your-key.asc> --commit
apiVersion: breakglass.dev/v1
kind: Policy
metadata:
  name: production
spec:
  # Who may open requests: exact addresses or *@domain.
  requesters: ["*@vendor.example"]
  # OpenPGP fingerprints credentials may be sealed to (the vendor's keys).
  recipients: [0123456789ABCDEF0123456789ABCDEF01234567]
  approvals:
    required: 2
    approvers: [alice, bob, carol]
    allowSelfApproval: false
  # A request not approved within this time goes stale.
  requestExpiry: 4h
  reason:
    pattern: "^INC-[0-9]+"
    minLength: 20
  resources:
    - name: prod-eu
      type: kubernetes
      privileges: [cluster-admin, "admin:payments", view]
      maxDuration: 2h
      network: [direct, tailscale]
`;

export const SESSIONS_README = `# sessions/

One folder per break-glass session: \`sessions/<id>/request.yaml\` (the vendor's
request), \`approvals/<approver>.yaml\` with a detached signature beside it,
\`rejection.yaml\`, \`end.yaml\`, and \`record.yaml\` + \`record.yaml.asc\`
(written only by the runner). Requests are never edited after they are opened:
any change voids every approval.
`;

export const GITATTRIBUTES = `*.yaml text eol=lf
*.yml text eol=lf
*.asc -text
*.sigstore.json -text`;
