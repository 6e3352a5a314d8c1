/**
 * Schemas for every document breakglass reads. Strict everywhere: an unknown
 * key is an error, never ignored, because a key we ignore is a key an attacker
 * can use to make two readers disagree about what was approved.
 *
 * Each constrained string carries a stable finding code and a hint saying what
 * would be accepted (see `describeField`), so validation messages can name the
 * bad value and the fix.
 */
import { z } from 'zod';
import { parseDuration, parseTime, DURATION_HINT } from './duration.js';
import { plainIdentity, visibleText } from './identity.js';
import { Escalate, NotifyConfig } from './notify-config.js';

export const API_VERSION = 'breakglass.dev/v1';

interface FieldHint {
  code: string;
  hint: string;
}
const fieldHints = new WeakMap<z.ZodType, FieldHint>();

/** The finding code and "what is accepted" text registered for a schema node. */
export function describeField(schema: z.ZodType): FieldHint | undefined {
  return fieldHints.get(schema);
}

function constrained(re: RegExp, code: string, hint: string, extra?: (s: string) => boolean, base: z.ZodString = z.string()): z.ZodString {
  let s = base.regex(re);
  if (extra) s = s.refine(extra) as unknown as z.ZodString;
  const out = s.meta({ description: hint });
  fieldHints.set(out, { code, hint });
  return out;
}

/**
 * An identity field (a requester, an approver name, an id): invisible and
 * non-ASCII characters are refused first, with their own codes (identity.ts),
 * then the field's pattern applies.
 */
function identity(re: RegExp, code: string, hint: string): z.ZodString {
  return constrained(re, code, hint, undefined, z.string().check(plainIdentity));
}

// Session ids become folder names, Kubernetes object names and label values:
// a DNS label (RFC 1123), so `..`, `/`, upper case and >63 chars are impossible.
export const SessionId = identity(
  /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
  'ID_INVALID',
  'a DNS label: lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters',
);
export const Duration = constrained(/^(?=\d)(?:\d+h)?(?:\d+m)?(?:\d+s)?$/, 'DURATION_INVALID', DURATION_HINT, (s) => parseDuration(s) !== undefined);
export const Time = constrained(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/, 'TIME_INVALID', 'an RFC 3339 UTC time such as 2026-11-21T02:17:00Z', (s) => parseTime(s) !== undefined);
export const Fingerprint = constrained(/^(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/, 'FINGERPRINT_INVALID', 'an OpenPGP fingerprint: 40 (v4) or 64 (v6) hex digits without spaces');
export const Digest = constrained(/^sha256:[0-9a-f]{64}$/, 'DIGEST_INVALID', 'sha256: followed by 64 lower-case hex digits');
export const Nonce = constrained(/^[0-9a-f]{32}$/, 'NONCE_INVALID', '32 lower-case hex digits (128 random bits), quoted');
// Approver names become file names (`approvals/<name>.yaml`): no dots first, no slashes.
export const ApproverName = identity(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'APPROVER_INVALID', 'a name of lower-case letters, digits, "-" and "_", at most 63 characters');
export const Repository = constrained(/^[a-z0-9.-]+(?::\d+)?\/[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)+$/, 'REPOSITORY_INVALID', 'host/owner/name, such as github.com/customer/access');
export const Requester = identity(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'REQUESTER_INVALID', 'an e-mail address such as oncall@vendor.example');
export const RequesterPattern = identity(/^(?:[^\s@*]+|\*)@[^\s@*]+\.[^\s@*]+$/, 'REQUESTER_PATTERN_INVALID', 'an e-mail address, or *@domain for anyone at that domain');
export const PolicyName = identity(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'NAME_INVALID', 'a DNS label: lower-case letters, digits and "-", at most 63 characters');
// Command names and input keys appear in argv templates as `{key}`.
export const Identifier = constrained(/^[a-z][a-z0-9_-]{0,62}$/, 'NAME_INVALID', 'a name of lower-case letters, digits, "-" and "_", starting with a letter');
export const RelativePath = constrained(/^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._/-]+$/, 'PATH_INVALID', 'a relative path without ".." segments');
export const FilePath = z.string().min(1).meta({ description: 'a file path (relative paths are resolved against the file that names it)' });

export const NETWORKS = ['direct', 'tailscale', 'twingate', 'networkpolicy'] as const;
export const Network = z.enum(NETWORKS);
export type Network = z.infer<typeof Network>;

const apiVersion = z.literal(API_VERSION);

// ---------------------------------------------------------------- Request

export const CommandRequest = z.strictObject({
  name: Identifier,
  inputs: z.record(z.string(), z.string()).default({}),
});

export const Request = z.strictObject({
  apiVersion,
  kind: z.literal('Request'),
  metadata: z.strictObject({
    id: SessionId,
    requester: Requester,
    created: Time,
  }),
  spec: z.strictObject({
    reason: z.string().min(1).max(2000),
    resource: PolicyName,
    privilege: z.string().min(1).max(253),
    duration: Duration,
    network: Network,
    recipient: Fingerprint,
    command: CommandRequest.optional(),
  }),
});
export type Request = z.infer<typeof Request>;

// ---------------------------------------------------------------- Approvals and friends

export const Approval = z.strictObject({
  apiVersion,
  kind: z.literal('Approval'),
  session: SessionId,
  request: Digest,
  repository: Repository,
  approver: ApproverName,
  // `reject` is representable so that a signed rejection placed where an
  // approval belongs is read, recognised and refused, rather than misparsed.
  decision: z.enum(['approve', 'reject']),
  signed: Time,
  expires: Time,
  duration: Duration.optional(),
  nonce: Nonce,
});
export type Approval = z.infer<typeof Approval>;

export const PolicyApproval = z.strictObject({
  apiVersion,
  kind: z.literal('PolicyApproval'),
  policy: PolicyName,
  digest: Digest,
  repository: Repository,
  approver: ApproverName,
  signed: Time,
  nonce: Nonce,
});
export type PolicyApproval = z.infer<typeof PolicyApproval>;

export const Rejection = z.strictObject({
  apiVersion,
  kind: z.literal('Rejection'),
  session: SessionId,
  request: Digest,
  by: z.string().min(1).max(253).check(visibleText),
  at: Time,
  reason: z.string().min(1).max(2000),
});
export type Rejection = z.infer<typeof Rejection>;

export const End = z.strictObject({
  apiVersion,
  kind: z.literal('End'),
  session: SessionId,
  by: z.string().min(1).max(253).check(visibleText),
  at: Time,
  reason: z.string().max(2000).optional(),
});
export type End = z.infer<typeof End>;

// ---------------------------------------------------------------- Record (runner-written)

const ObjectRef = z.strictObject({
  kind: z.string().min(1),
  apiVersion: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().min(1),
  provider: z.string().optional(),
});

export const RECORD_OUTCOMES = ['ended', 'failed'] as const;

export const Record = z.strictObject({
  apiVersion,
  kind: z.literal('Record'),
  session: SessionId,
  request: Digest,
  repository: Repository,
  commit: z
    .string()
    .regex(/^[0-9a-f]{40,64}$/)
    .optional(),
  outcome: z.enum(RECORD_OUTCOMES),
  drill: z.boolean().default(false),
  runner: z.strictObject({ id: z.string().min(1), fingerprint: Fingerprint }),
  approvals: z.array(z.strictObject({ approver: ApproverName, fingerprint: z.string().min(1), file: Digest })),
  policy: z.strictObject({ name: PolicyName, digest: Digest }),
  activated: Time.optional(),
  expires: Time.optional(),
  ended: Time,
  endReason: z.string().min(1),
  objects: z.array(ObjectRef),
  credential: z
    .strictObject({
      kind: z.enum(['kubernetes-token', 'command', 'none']),
      sha256: Digest.optional(),
      expires: Time.optional(),
      delivery: z.strictObject({ channel: z.enum(['directory', 'github', 'none']), ref: z.string().optional() }),
    })
    .optional(),
  teardown: z
    .strictObject({
      deleted: z.array(ObjectRef),
      completed: Time,
      errors: z.array(z.string()).default([]),
    })
    .optional(),
  revocation: z
    .strictObject({
      method: z.string().min(1),
      at: Time,
      result: z.string().min(1),
      attempts: z.number().int().min(1).optional(),
    })
    .optional(),
  failure: z.strictObject({ step: z.string(), code: z.string(), message: z.string() }).optional(),
  // The network path going down (with its code) and coming back while the session was open (issue 11).
  path: z.array(z.strictObject({ state: z.enum(['down', 'up']), code: z.string().min(1), message: z.string(), at: Time })).optional(),
  // Issue 12: the session recording's chunk count and chain head (docs/security/recording.md).
  recording: z.strictObject({ chunks: z.number().int().min(0), head: Digest }).optional(),
});
export type Record = z.infer<typeof Record>;

// ---------------------------------------------------------------- Policy

export const KUBERNETES_PRIVILEGE_HINT = 'cluster-admin, view, admin:<namespace>, edit:<namespace> or clusterrole:<name>';

export const PolicyCommand = z.strictObject({
  name: Identifier,
  run: z.array(z.string().min(1)).min(1),
  inputs: z.record(z.string(), z.string()).default({}),
  revoke: z.array(z.string().min(1)).min(1).optional(),
  // Pins of the programs' bytes, checked before every run (run[0] and revoke[0]).
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  revokeSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  timeout: Duration.optional(),
});
export type PolicyCommand = z.infer<typeof PolicyCommand>;

// A gateway guardrail (issue 12): Kubernetes verbs on resources (`pods/exec` names a subresource), optionally
// only in some namespaces. A namespaced rule also matches requests across all namespaces (`get secrets -A`).
export const GATEWAY_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', '*'] as const;
export const DenyRule = z.strictObject({
  verbs: z.array(z.enum(GATEWAY_VERBS)).min(1),
  resources: z.array(z.string().regex(/^(?:\*|[a-z0-9.-]+(?:\/[a-z]+)?)$/)).min(1),
  namespaces: z
    .array(z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/))
    .min(1)
    .optional(),
  reason: z.string().min(1).max(200).optional(),
});
export type DenyRule = z.infer<typeof DenyRule>;

export const RESOURCE_TYPES = ['kubernetes', 'command', 'vendor-held'] as const;

export const PolicyResource = z.strictObject({
  name: PolicyName,
  type: z.enum(RESOURCE_TYPES),
  privileges: z.array(z.string().min(1)).min(1),
  maxDuration: Duration,
  network: z.array(Network).min(1),
  commands: z.array(PolicyCommand).optional(),
  // The manifest is pinned by digest, so approving the policy's bytes approves the manifest's too.
  networkPolicy: z.strictObject({ manifest: RelativePath, sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  // Session recording (issue 12): `required` makes a session that cannot go through the gateway fail closed;
  // `deny` rules are enforced by the gateway (403 to the client, recorded as denied) and shown in the approval view.
  recording: z.enum(['required', 'optional']).optional(),
  deny: z.array(DenyRule).optional(),
});
export type PolicyResource = z.infer<typeof PolicyResource>;

export const Policy = z.strictObject({
  apiVersion,
  kind: z.literal('Policy'),
  metadata: z.strictObject({ name: PolicyName }),
  spec: z.strictObject({
    requesters: z.array(RequesterPattern).min(1),
    recipients: z.array(Fingerprint).min(1),
    approvals: z.strictObject({
      required: z.number().int().min(1).max(100),
      approvers: z.array(ApproverName).min(1),
      allowSelfApproval: z.boolean().default(false),
      // Issue 13: who else hears about a request still short of approvals; never changes `required`.
      escalate: Escalate.optional(),
    }),
    requestExpiry: Duration,
    reason: z.strictObject({ pattern: z.string().min(1).optional(), minLength: z.number().int().min(0).max(2000).optional() }).default({}),
    resources: z.array(PolicyResource).min(1),
    // Namespaces no session may be granted a privilege in, on top of the built-in ones (additive, never fewer).
    protectedNamespaces: z.array(z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)).optional(),
  }),
});
export type Policy = z.infer<typeof Policy>;

// ---------------------------------------------------------------- Trust and runner config (never in the repository)

// `email` is the approver's own address, used for the self-approval rule
// (alongside the e-mails in OpenPGP user ids and a keyless subject).
export const TrustApprover = z.union([
  z.strictObject({ name: ApproverName, email: Requester.optional(), openpgp: FilePath }),
  z.strictObject({
    name: ApproverName,
    email: Requester.optional(),
    sigstore: z.union([z.strictObject({ issuer: z.string().url(), subject: z.string().min(1).check(plainIdentity), trustedRoot: FilePath.optional() }), z.strictObject({ publicKey: FilePath })]),
  }),
]);

/** An auditor of the trust file (issue 12): a name and an OpenPGP public key file that recordings are sealed to. */
export const TrustAuditor = z.strictObject({ name: ApproverName, openpgp: FilePath });

export const Trust = z.strictObject({
  apiVersion,
  kind: z.literal('Trust'),
  threshold: z.number().int().min(1).max(100),
  approvers: z.array(TrustApprover).min(1),
  runner: FilePath.optional(),
  // Issue 12: who can open session recordings; every chunk is sealed to each of these OpenPGP keys.
  auditors: z.array(TrustAuditor).min(1).optional(),
});
export type Trust = z.infer<typeof Trust>;

const EnvName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/);

/** An IPv4 or IPv6 prefix as Tailscale takes routes: address/bits, the address the prefix's own. */
const Cidr = z.string().regex(/^(?:(?:\d{1,3}\.){3}\d{1,3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/, 'a route is a CIDR prefix such as 10.96.0.0/12');

/**
 * Refuses a versioned tag of `repo` older than `min` (major, minor): the
 * router's health endpoint (TS_ENABLE_HEALTH_CHECK) is missing before it.
 * Floating tags (stable, latest) and digests cannot be judged here.
 */
function minimumImage(repo: string, min: [number, number]) {
  const versioned = new RegExp(`^(?:docker\\.io/|ghcr\\.io/)?${repo.replace('/', '\\/')}:v?(\\d+)\\.(\\d+)`);
  return (value: string, ctx: z.RefinementCtx) => {
    const m = versioned.exec(value);
    if (m && (Number(m[1]) < min[0] || (Number(m[1]) === min[0] && Number(m[2]) < min[1]))) {
      ctx.addIssue({ code: 'custom', message: `${value} is older than ${repo}:v${min.join('.')}, the first with the health endpoint the readiness probe uses` });
    }
  };
}

/** Tailscale subnet router for a resource. API credentials come from the runner's environment, never the file. */
export const TailscaleConfig = z.strictObject({
  tailnet: z.string().min(1).default('-'),
  apiUrl: z.string().url().optional(),
  apiKeyEnv: EnvName.optional(),
  oauth: z.strictObject({ clientIdEnv: EnvName, clientSecretEnv: EnvName }).optional(),
  // Tailscale's own grammar (tailcfg.CheckTag): `tag:`, a letter, then letters, digits or dashes.
  tags: z.array(z.string().regex(/^tag:[A-Za-z][A-Za-z0-9-]*$/, 'a Tailscale tag is tag: followed by a letter, then letters, digits or dashes')).min(1),
  routes: z.array(Cidr).min(1),
  // `api`: the runner enables exactly `routes` on the router's device; `autoApprove`: the
  // tailnet policy's autoApprovers enable them and the runner only verifies (issue 11).
  routeApproval: z.enum(['api', 'autoApprove']).default('api'),
  image: z
    .string()
    .min(1)
    .superRefine(minimumImage('tailscale/tailscale', [1, 78]))
    .default('tailscale/tailscale:stable'),
  readinessTimeout: Duration.default('2m'),
});
export type TailscaleConfig = z.infer<typeof TailscaleConfig>;

/** Twingate connector for a resource, in an existing remote network. */
export const TwingateConfig = z.strictObject({
  url: z.string().url(),
  network: z.string().min(1),
  apiKeyEnv: EnvName,
  remoteNetworkId: z.string().min(1),
  image: z.string().min(1).default('twingate/connector:1'),
  readinessTimeout: Duration.default('2m'),
});
export type TwingateConfig = z.infer<typeof TwingateConfig>;

export const RunnerResource = z.strictObject({
  kubeconfig: FilePath.optional(),
  namespace: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)
    .default('breakglass-system'),
  // What a vendor's kubeconfig points at: required for `kubernetes` resources (checked
  // before activation), meaningless for `command` and `vendor-held` ones, whose
  // kubeconfig/namespace only say where markers and network objects live.
  server: z.string().url().optional(),
  certificateAuthority: FilePath.optional(),
  tailscale: TailscaleConfig.optional(),
  twingate: TwingateConfig.optional(),
  // Issue 15: `file` keeps this resource's markers as files in `state` and uses no cluster at
  // all (command credentials over the direct path); `cluster` (default) keeps them as ConfigMaps.
  markers: z.enum(['cluster', 'file']).optional(),
  // Recorded sessions (issue 12): the vendor's kubeconfig points at this gateway address instead of `server`,
  // trusting `certificateAuthority` (the gateway's CA; omit for a publicly trusted certificate).
  gateway: z.strictObject({ url: z.string().url().startsWith('https://'), certificateAuthority: FilePath.optional() }).optional(),
});

/**
 * `breakglass drill`: a rehearsal against this runner's cluster in a sandbox
 * repository, approved by a dedicated drill key (never a production approver).
 */
export const DrillConfig = z.strictObject({
  // The drill approver's OpenPGP SECRET key, kept with the runner config, never in the repository.
  key: FilePath,
  resource: PolicyName,
  privilege: z.string().min(1).default('view'),
  duration: Duration.default('10m'),
});
export type DrillConfig = z.infer<typeof DrillConfig>;

export const RunnerConfig = z.strictObject({
  apiVersion,
  kind: z.literal('RunnerConfig'),
  repository: z.strictObject({ url: z.string().min(1), branch: z.string().min(1).default('main'), name: Repository }),
  trust: FilePath,
  signingKey: FilePath,
  pollInterval: Duration.default('5s'),
  state: FilePath,
  caps: z.strictObject({ maxDuration: Duration }),
  delivery: z.union([
    z.strictObject({ directory: FilePath }),
    // apiUrl: GitHub Enterprise, or a local stand-in in tests; default api.github.com.
    z.strictObject({ github: z.strictObject({ tokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/), apiUrl: z.string().url().optional() }) }),
  ]),
  commands: z
    .strictObject({
      path: FilePath,
      // Names of runner environment variables passed through to commands; nothing else is.
      env: z.array(EnvName).default([]),
      timeout: Duration.default('30s'),
      maxOutputBytes: z
        .number()
        .int()
        .min(1)
        .max(1024 * 1024)
        .default(64 * 1024),
    })
    .optional(),
  // A directory of recipients' PUBLIC keys, `<FINGERPRINT>.asc`, kept by the
  // customer. When absent, `policies/keys/<FINGERPRINT>.asc` from the verified
  // commit is used; either way the key's fingerprint must equal the signed request's.
  recipientKeys: FilePath.optional(),
  // Namespaces no session may be granted a privilege in, besides the built-in ones and every resource's `namespace` (additive).
  protectedNamespaces: z.array(z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)).optional(),
  resources: z.record(PolicyName, RunnerResource),
  // Where this installation claims session ids ("once", whatever resource a request names).
  // Optional when every resource shares one kubeconfig and namespace: the claims live there.
  claims: z.strictObject({ kubeconfig: FilePath.optional(), namespace: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/) }).optional(),
  drill: DrillConfig.optional(),
  // The session gateway (issue 12): one HTTPS listener shared by every recorded session; operator-provided certificate and key.
  gateway: z.strictObject({ listen: z.string().regex(/^[^\s:]*:\d{1,5}$/), certificate: FilePath, key: FilePath }).optional(),
  // Issue 13: channels told about each session's life; secrets and webhook URLs only through environment variables.
  notify: NotifyConfig.optional(),
  // Set only in the sandbox config `breakglass drill` writes: every record this runner signs says `drill: true`.
  rehearsal: z.boolean().optional(),
  // Issue 15: /metrics (Prometheus), /healthz, /readyz on host:port; /readyz fails when the
  // last successful poll is older than `unreadyAfterPolls` poll intervals.
  metrics: z
    .strictObject({
      listen: z.string().regex(/^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port, e.g. 0.0.0.0:9090'),
      unreadyAfterPolls: z.number().int().min(1).max(1000).default(3),
    })
    .optional(),
});
export type RunnerConfig = z.infer<typeof RunnerConfig>;

/** Every document kind by name: what `kind:` selects. */
export const SCHEMAS = {
  Request,
  Approval,
  PolicyApproval,
  Rejection,
  End,
  Record,
  Policy,
  Trust,
  RunnerConfig,
} as const;
export type Kind = keyof typeof SCHEMAS;
export const KINDS = Object.keys(SCHEMAS) as Kind[];
export type DocumentOf<K extends Kind> = z.infer<(typeof SCHEMAS)[K]>;
