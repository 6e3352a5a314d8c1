/**
 * The one catalogue of operational error codes: what `BreakglassError.code`
 * may be (a code not listed here does not compile), what the command line
 * prints as `breakglass: CODE: message` (exit 2), and what a runner record's
 * `failure.code` carries when no verification reason applies. Each entry is
 * the code's one-line meaning, listed in docs/design.md ("Error codes"); a
 * test keeps the two equal.
 *
 * Not here, because they are verdicts rather than errors (exit 1): the
 * reasons an approval or a delivery is not accepted (core/reasons.ts
 * REASONS), the findings of `validate` and `audit`. A few codes are both: the
 * same condition met as a verdict or as a failure to do the job.
 *
 * Codes are matched on by scripts, alerts and tests: never rename one, only add.
 * It lives in crypto/, the bottom layer, because BreakglassError does.
 */
export const ERROR_CODES = {
  // ---- The command line itself ----
  USAGE: 'a flag or argument is missing, unknown or malformed, or no command was named',
  INTERNAL: 'an unexpected failure inside breakglass (a bug): the message says what; BREAKGLASS_DEBUG=1 adds the stack',
  NODE_UNSUPPORTED: 'the Node.js running breakglass is older than it needs (22.12)',
  INSTALL_BROKEN: 'the compiled CLI (lib/) is missing or cannot be loaded: a checkout that was never built',
  CANCELLED: 'a prompt was cancelled or not confirmed; nothing written',
  CONFIRMATION_REQUIRED: 'signing needs a confirmation and there is no terminal: pass --yes',
  // ---- Inputs refused before anything is read, signed or written ----
  REPO_MISSING: 'the --repo directory does not exist',
  SESSION_MISSING: 'the session named has no request.yaml in sessions/',
  SESSION_EXISTS: 'request new names a session that already exists; requests are never rewritten',
  SESSION_INVALID: "the session's request is missing or invalid, so it cannot be shown or signed",
  ID_INVALID: 'a session id that is not a DNS label',
  FILE_MISSING: 'a named file (--config, --trust, ...) does not exist or is not a file',
  DIR_UNUSABLE: 'a directory to write into cannot be created or is not a directory',
  NOTHING_TO_VALIDATE: 'no policies and no sessions: not an access repository',
  REPOSITORY_UNKNOWN: 'the repository name cannot be told (no origin remote, no signed record): pass --repository',
  REPOSITORY_AMBIGUOUS: 'runner-signed records name several repositories: pass --repository',
  POLICY_MISSING: 'the policy named has no file in policies/',
  REQUEST_MISSING: 'the request a delivery is checked against is not in --repo',
  ACTOR_UNKNOWN: 'who is acting cannot be told: pass --by or set git config user.email',
  INPUT_MISSING: 'a command template names an input the request does not give',
  INVALID_DOCUMENT: 'a file breakglass reads (config, trust, policy) is not valid; its findings follow',
  // ---- Keys ----
  KEY_MISSING: 'a --key names no file and no key gpg knows',
  KEY_EXISTS: 'keygen would overwrite a key; keys are never overwritten',
  KEY_INVALID: 'a --key file does not hold a usable OpenPGP secret key',
  KEY_LOCKED: 'the secret key needs a passphrase and there is no terminal: set BREAKGLASS_PASSPHRASE',
  KEY_UNREADABLE: 'an auditor --key cannot be read or unlocked',
  GPG_NO_KEY: 'gpg has no secret key for the key id given',
  GPG_FAILED: 'gpg exited with an error',
  // ---- Trust and runner configuration ----
  TRUST_INVALID: 'the trust file, or a key or sigstore root it names, cannot be used',
  TRUST_UNREADABLE: 'the trust file or a file it names cannot be read',
  TRUST_IN_REPOSITORY: 'trust material lies inside the repository it would judge',
  TRUST_NO_RUNNER: 'the trust file names no runner key, and a record is believed only when that key signed it',
  AUDITOR_INVALID: "the trust file's auditors: entry cannot be used",
  AUDITOR_DUPLICATE: 'an auditor is listed twice in the trust file',
  AUDITOR_KEY_UNUSABLE: "an auditor's key cannot encrypt",
  CONFIG_INVALID: 'the runner config (or its drill: section, or a knob in the environment) is not usable',
  STATE_INVALID: "a file in the runner's state directory cannot be read; the runner activates nothing until it is restored",
  // ---- Git and the repository ----
  GIT_FAILED: 'git exited with an error',
  GIT_REV: 'a branch or commit named does not exist',
  SYMLINK: 'a file breakglass reads is a symbolic link; links are never followed',
  GITLINK: 'a file breakglass reads is a gitlink (submodule)',
  FILE_MODE: 'a file breakglass reads is not a regular file',
  FILE_TOO_LARGE: 'a file breakglass reads is larger than it accepts',
  // ---- Delivery and receive ----
  RECEIVE_MISSING: 'nothing has been delivered for the session yet',
  RECEIVE_INVALID: 'the delivered file holds no OpenPGP message',
  RUNNER_KEY_REQUIRED: 'receive needs the runner key to verify a delivery: pass --runner-key or --trust',
  RUNNER_KEY_UNREADABLE: '--runner-key is neither a fingerprint nor a readable public key',
  ALREADY_DELIVERED: 'the session was already delivered to the outbox; a delivery is made once',
  DELIVERY_NO_PULL_REQUEST: 'no pull request added the session, so there is nowhere to post its delivery',
  RECIPIENT_KEY_MISSING: "no public key for the request's recipient fingerprint",
  RECIPIENT_KEY_MISMATCH: 'the key found for the recipient has another fingerprint',
  // ---- Recordings ----
  RECORDING_NONE: 'the session has no signed record yet, so its recording cannot be verified',
  RECORDING_NOT_FOR_KEY: 'the recording is not sealed to the --key given',
  RECORDING_GATEWAY_DOWN: "the runner's session gateway is not serving, so a recorded session cannot open",
  // ---- Runner: sessions, markers, plans ----
  MARKER_INVALID: 'a per-session marker cannot be read',
  CLAIM_INVALID: "a session's claim (what makes activation once per request) cannot be read; the id is refused until it is repaired",
  DURATION_INVALID: 'a duration cannot be read as a length of time such as 30s, 15m, 2h or 1h30m',
  TIME_INVALID: 'a time cannot be read as an RFC 3339 timestamp',
  MARKER_WRITE_FAILED: 'a per-session marker could not be written, so nothing was minted',
  MARKER_LIST_FAILED: 'the per-session markers could not be listed',
  PLAN_DURATION: 'a duration of the session cannot be read while planning it',
  PLAN_PRIVILEGE: 'the privilege is not a Kubernetes privilege',
  PLAN_INVALID: 'the session plan lacks an object the step needs (a ServiceAccount to request a token for)',
  PLAN_MISMATCH: 'activation created an object the session plan does not name; everything was rolled back',
  STATE_TRANSITION: 'a marker write is not a transition the session state machine makes; nothing written',
  PRIVILEGE_UNVERIFIABLE: 'what a ClusterRole grants cannot be read, so the session waits',
  SESSION_STEP_FAILED: 'a step of a session failed with an error that carries no code of its own',
  NETWORK_FAILED: 'opening the network path failed',
  CREDENTIAL_FAILED: 'minting the credential failed',
  RECIPIENT_KEY_UNUSABLE: "the recipient's key cannot be used to seal the credential",
  SEAL_FAILED: 'sealing the credential to the recipient failed',
  DELIVERY_FAILED: 'delivering the sealed credential failed',
  TEARDOWN_INCOMPLETE: 'teardown could not remove everything the session created',
  REVOCATION_UNPROVEN: 'the credential was still accepted after teardown',
  GIT_UNREACHABLE: 'the repository could not be fetched',
  REAPER_FAILED: 'the sweep for objects left by a crashed runner failed',
  RECORD_PUSH_FAILED: 'a signed record could not be pushed',
  POLICY_MEMORY_FAILED: 'the memory of the policy versions seen could not be kept',
  // ---- Runner: Kubernetes ----
  KUBE_CONFIG: 'the kubeconfig has no current cluster',
  KUBE_UNREACHABLE: 'the Kubernetes API server cannot be reached',
  KUBE_FAILED: 'the Kubernetes API server refused a request',
  KUBE_CONFLICT: 'the object already exists (HTTP 409)',
  KUBE_KIND: 'a kind breakglass does not manage',
  KUBE_NAMESPACE: 'an object to create has no namespace',
  KUBE_TOKEN_MISSING: 'a TokenRequest returned no token',
  // ---- Runner: command credentials ----
  COMMAND_UNAVAILABLE: 'the runner has no commands: section, or the session no approved command',
  COMMAND_INPUT: "a command's inputs are not the ones its policy declares, or one is unsafe",
  COMMAND_PATH: "a command's program is not a plain name inside commands.path",
  COMMAND_PIN: "a command's program does not have the sha256 the policy pins",
  COMMAND_FAILED: 'a command could not start, failed, timed out, or printed nothing',
  // ---- Runner: network paths and providers ----
  NETWORK_UNAVAILABLE: 'the network path asked for is not configured on this runner',
  NETPOL_MANIFEST: 'the NetworkPolicy manifest is not in policies/ at the verified commit',
  NETPOL_DIGEST: 'the NetworkPolicy manifest does not have the sha256 the policy pins',
  NETPOL_INVALID: 'the NetworkPolicy manifest is not a valid NetworkPolicy',
  NETPOL_ALTERED: 'the API server did not store the NetworkPolicy as written',
  PROVIDER_CONFIG: 'a provider setting or environment variable is missing',
  PROVIDER_AUTH: 'a provider API refused the credential (401/403)',
  PROVIDER_FAILED: 'a provider API call failed',
  PROVIDER_UNAVAILABLE: 'a provider API did not answer after retries',
  PROVIDER_NOT_READY: "a path's workload was not ready before the deadline",
  PROVIDER_PREFLIGHT: "a provider's credential fails its checks, so its sessions wait",
  TAILSCALE_DEVICE_OFFLINE: 'the Tailscale router was not online before the deadline',
  TAILSCALE_DEVICE_AMBIGUOUS: "several tailnet devices carry the session router's name",
  TAILSCALE_ROUTES_NOT_ENABLED: 'the Tailscale router did not advertise its routes before the deadline',
  TAILSCALE_ROUTES_REFUSED: 'the tailnet did not enable the approved routes',
  TAILSCALE_ROUTES_EXCESS: 'routes are enabled on the router that were not approved',
  TWINGATE_CONNECTOR_NOT_ALIVE: 'the Twingate connector did not come alive before the deadline',
  // An open path that stops carrying traffic (a record's path events; the session ends).
  TAILSCALE_ROUTES_WITHDRAWN: 'the approved routes are no longer enabled on the Tailscale router',
  TWINGATE_CONNECTOR_DEAD: 'the Twingate connector is no longer alive',
  ROUTER_NOT_READY: "the path's router Deployment has no ready replica",
  // ---- Runner: --check (one per problem; the runner runs the same checks before it starts) ----
  PREFLIGHT_CONFIG_INVALID: 'the runner config cannot be loaded',
  PREFLIGHT_TRUST_INVALID: 'the trust file cannot be loaded',
  PREFLIGHT_KEY_UNREADABLE: 'the runner signing key cannot be read',
  PREFLIGHT_KEY_CANNOT_SIGN: 'the runner signing key cannot sign',
  PREFLIGHT_KEY_CANNOT_ENCRYPT: 'the runner key cannot encrypt (sealed pending records)',
  PREFLIGHT_KEY_NOT_RUNNER: "the signing key does not sign as one of the trust file's runner keys (not there, or retired or expired there)",
  PREFLIGHT_STATE_UNWRITABLE: 'the state directory is not writable',
  PREFLIGHT_REMOTE_UNREACHABLE: 'the git remote cannot be reached',
  PREFLIGHT_BRANCH_MISSING: 'the branch is not on the remote',
  PREFLIGHT_CLUSTER_UNREACHABLE: "a resource's cluster cannot be reached",
  PREFLIGHT_NAMESPACE_MISSING: "a resource's namespace does not exist",
  PREFLIGHT_PERMISSION_MISSING: 'the runner lacks a permission it needs',
  PREFLIGHT_PROVIDER_ENV_MISSING: 'an environment variable a provider or channel needs is not set',
  PREFLIGHT_PROVIDER_FAILED: "a provider's API refuses what a session would need",
  PREFLIGHT_COMMANDS_MISSING: 'commands.path is missing or not a directory',
  // ---- Notifications (a failed delivery is logged and retried, never a verdict) ----
  NOTIFY_CONFIG_INVALID: 'a notify: channel is not valid',
  NOTIFY_ENV_MISSING: 'an environment variable a channel names is not set',
  NOTIFY_CHANNEL_DUPLICATE: 'two channels have the same name',
  NOTIFY_CHANNEL_UNKNOWN: 'an escalation, or a pending delivery, names a channel that is not configured',
  NOTIFY_URL_INVALID: "a channel's URL is not a URL",
  NOTIFY_URL_INSECURE: "a channel's URL is not https (plain http only to loopback)",
  NOTIFY_SMTP_INSECURE: 'SMTP without TLS to a relay that is not on loopback',
  NOTIFY_TIMEOUT: 'a channel did not answer in time',
  NOTIFY_UNREACHABLE: 'a channel cannot be reached',
  NOTIFY_HTTP_STATUS: 'a channel answered with an error status',
  NOTIFY_REJECTED: 'a channel refused the message',
  NOTIFY_SMTP: 'the SMTP relay refused the message',
  NOTIFY_GIVEN_UP: 'a notification was given up after its retries',
  NOTIFY_FAILED: 'a round of notifications failed with an error that carries no code of its own',
  // ---- The GitHub Action ----
  ACTION_ENV: 'a variable every GitHub Actions step has is not set: not running as an Action',
  ACTION_EVENT: 'the event payload cannot be read',
  ACTION_INPUT: 'an input of the Action is not a path inside the repository',
  GITHUB_API: 'a GitHub API call failed',
  GITHUB_FORBIDDEN: 'the GitHub API refused a call (HTTP 403): the token lacks a permission',
} as const satisfies Record<string, string>;

/** A stable operational error code: one of the catalogue's keys. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether `code` is in the catalogue (for codes read from outside, e.g. a log or a record). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}
