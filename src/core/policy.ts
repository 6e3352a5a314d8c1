/**
 * Policy evaluation: a pure function from (request, policies, now) to every
 * violation. It never stops at the first problem, so a vendor sees all of
 * them in one round trip, and it never reads files, git or the clock.
 *
 * What this does NOT check: signatures, approvals, or whether the policy
 * itself was approved. Those are the verifier's job (`verify`, the runner).
 */
import { formatDuration, parseDuration, parseTime } from './duration.js';
import { canonicalIdentity } from './identity.js';
import { isClusterAdminTier, parseKubePrivilege, protectedNamespaceOf } from './privilege.js';
import type { Policy, PolicyCommand, PolicyResource, Request } from './schemas.js';

/** A violation, pointing at the request field (or policy field) it is about. */
export interface Violation {
  code: string;
  message: string;
  /** Path in the request document, e.g. ['spec', 'privilege']. */
  path: readonly (string | number)[];
  /** When the problem is in the policy rather than the request. */
  policyPath?: readonly (string | number)[];
}

/** Where a request's resource is governed: the policy and the resource entry. */
export interface Governing {
  policy: Policy;
  resource: PolicyResource;
  command?: PolicyCommand;
}

export interface Evaluation {
  violations: Violation[];
  governing?: Governing;
  /** Requested duration capped by the policy's maxDuration, in seconds. */
  effectiveSeconds?: number;
  clusterAdminTier: boolean;
}

/** Allowed skew for a request's `created` time in the future. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * Command inputs are substituted whole into single argv elements and never
 * reach a shell — but a value that would mean something to a shell, or that
 * starts with `-` (read as an option by most programs), is refused anyway,
 * whatever the policy pattern allows. Defence in depth, and the approval view
 * stays unambiguous.
 */
export const SAFE_INPUT = /^[A-Za-z0-9._:@+=,/%][A-Za-z0-9._:@+=,/%-]*$/;
export const MAX_INPUT_LENGTH = 256;
export const SAFE_INPUT_HINT = 'letters, digits and . _ : @ + = , / % - (not first), at most 256 characters: no spaces, quotes or shell metacharacters';

/** Says why a command input is refused regardless of policy, or undefined when it is acceptable. */
export function unsafeInput(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > MAX_INPUT_LENGTH) return `is ${value.length} characters long`;
  if (value.startsWith('-')) return 'starts with "-", which a program would read as an option';
  const bad = [...value].find((c) => !/^[A-Za-z0-9._:@+=,/%-]$/.test(c));
  if (bad !== undefined) return `contains ${JSON.stringify(bad)} (U+${bad.codePointAt(0)!.toString(16).padStart(4, '0')})`;
  return SAFE_INPUT.test(value) ? undefined : 'is not acceptable';
}

/** Requester patterns are exact addresses or `*@domain`, compared in canonical form (identity.ts). */
export function requesterAllowed(requester: string, patterns: readonly string[]): boolean {
  const who = canonicalIdentity(requester);
  return patterns.some((p) => {
    const pat = canonicalIdentity(p);
    if (pat.startsWith('*@')) return who.endsWith(pat.slice(1)) && who.indexOf('@') === who.length - pat.length + 1;
    return who === pat;
  });
}

/** Compiles a policy pattern so it must match the WHOLE value, whatever anchors the author wrote. */
export function wholeMatch(pattern: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    return undefined;
  }
}

/** Finds the one policy resource named by the request; several is an error, not a choice. */
export function findGoverning(request: Request, policies: readonly Policy[]): { governing?: Governing; violations: Violation[] } {
  const matches: Governing[] = [];
  for (const policy of policies) {
    for (const resource of policy.spec.resources) if (resource.name === request.spec.resource) matches.push({ policy, resource });
  }
  if (matches.length === 0) {
    const known = policies.flatMap((p) => p.spec.resources.map((r) => r.name));
    return {
      violations: [
        {
          code: 'POLICY_RESOURCE',
          message: `resource "${request.spec.resource}" is not named in any policy; known resources: ${known.join(', ') || '(none)'}`,
          path: ['spec', 'resource'],
        },
      ],
    };
  }
  if (matches.length > 1) {
    const names = matches.map((m) => m.policy.metadata.name).join(', ');
    return {
      violations: [
        { code: 'POLICY_AMBIGUOUS', message: `resource "${request.spec.resource}" is defined by more than one policy (${names}); each resource must be in exactly one`, path: ['spec', 'resource'] },
      ],
    };
  }
  return { governing: matches[0], violations: [] };
}

function checkPeople(request: Request, policy: Policy, out: Violation[]): void {
  const { requesters, recipients } = policy.spec;
  if (!requesterAllowed(request.metadata.requester, requesters)) {
    out.push({
      code: 'POLICY_REQUESTER',
      message: `requester "${request.metadata.requester}" is not allowed by policy ${policy.metadata.name}; allowed: ${requesters.join(', ')}`,
      path: ['metadata', 'requester'],
    });
  }
  const fpr = request.spec.recipient.toUpperCase();
  if (!recipients.some((r) => r.toUpperCase() === fpr)) {
    out.push({
      code: 'POLICY_RECIPIENT',
      message: `recipient key ${request.spec.recipient} is not allowed by policy ${policy.metadata.name}; allowed: ${recipients.join(', ')}`,
      path: ['spec', 'recipient'],
    });
  }
}

function checkReason(request: Request, policy: Policy, out: Violation[]): void {
  const { pattern, minLength } = policy.spec.reason;
  const reason = request.spec.reason;
  if (minLength !== undefined && [...reason].length < minLength) {
    out.push({ code: 'POLICY_REASON_LENGTH', message: `reason is ${[...reason].length} characters; policy ${policy.metadata.name} requires at least ${minLength}`, path: ['spec', 'reason'] });
  }
  if (pattern !== undefined) {
    // The reason pattern is a prefix/format rule (e.g. "^INC-[0-9]+"), so it is searched, not whole-matched.
    let re: RegExp | undefined;
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      re = undefined;
    }
    if (!re) out.push({ code: 'POLICY_INVALID', message: `policy ${policy.metadata.name} has an invalid reason pattern ${JSON.stringify(pattern)}`, path: ['spec', 'reason'] });
    else if (!re.test(reason))
      out.push({
        code: 'POLICY_REASON_PATTERN',
        message: `reason ${JSON.stringify(reason)} does not match the pattern ${JSON.stringify(pattern)} required by policy ${policy.metadata.name}`,
        path: ['spec', 'reason'],
      });
  }
}

function checkResource(request: Request, g: Governing, out: Violation[]): number | undefined {
  const { resource } = g;
  const { privilege, network, duration } = request.spec;
  if (!resource.privileges.includes(privilege)) {
    out.push({ code: 'POLICY_PRIVILEGE', message: `privilege "${privilege}" is not allowed for resource ${resource.name}; allowed: ${resource.privileges.join(', ')}`, path: ['spec', 'privilege'] });
  } else if (resource.type === 'kubernetes' && !parseKubePrivilege(privilege)) {
    out.push({
      code: 'PRIVILEGE_INVALID',
      message: `privilege "${privilege}" is not a Kubernetes privilege; use cluster-admin, view, admin:<namespace>, edit:<namespace> or clusterrole:<name>`,
      path: ['spec', 'privilege'],
    });
  }
  // Refused even when the policy lists it: a grant there outlives the session (see protectedNamespaceOf).
  const guarded = resource.type === 'kubernetes' ? protectedNamespaceOf(privilege, g.policy.spec.protectedNamespaces) : undefined;
  if (guarded) {
    out.push({
      code: 'PRIVILEGE_PROTECTED_NAMESPACE',
      message: `privilege "${privilege}" is in namespace ${guarded}, which is protected: a session there could take over the runner's identity or the cluster's own and keep it after teardown; ask for a namespace the workload runs in`,
      path: ['spec', 'privilege'],
    });
  }
  if (!resource.network.includes(network)) {
    out.push({ code: 'POLICY_NETWORK', message: `network "${network}" is not allowed for resource ${resource.name}; allowed: ${resource.network.join(', ')}`, path: ['spec', 'network'] });
  }
  const asked = parseDuration(duration);
  const max = parseDuration(resource.maxDuration);
  if (asked !== undefined && max !== undefined && asked > max) {
    out.push({
      code: 'POLICY_DURATION',
      message: `duration ${duration} is longer than the ${resource.maxDuration} that resource ${resource.name} allows; ask for ${formatDuration(max)} or less`,
      path: ['spec', 'duration'],
    });
  }
  return asked !== undefined && max !== undefined ? Math.min(asked, max) : undefined;
}

function checkCommand(request: Request, g: Governing, out: Violation[]): PolicyCommand | undefined {
  const { resource } = g;
  const cmd = request.spec.command;
  if (resource.type !== 'command') {
    if (cmd) out.push({ code: 'POLICY_COMMAND', message: `resource ${resource.name} is of type ${resource.type} and takes no command; remove spec.command`, path: ['spec', 'command'] });
    return undefined;
  }
  const known = (resource.commands ?? []).map((c) => c.name);
  if (!cmd) {
    out.push({ code: 'POLICY_COMMAND', message: `resource ${resource.name} is of type command; add spec.command with one of: ${known.join(', ') || '(none defined)'}`, path: ['spec'] });
    return undefined;
  }
  const def = resource.commands?.find((c) => c.name === cmd.name);
  if (!def) {
    out.push({ code: 'POLICY_COMMAND', message: `command "${cmd.name}" is not defined for resource ${resource.name}; defined: ${known.join(', ') || '(none)'}`, path: ['spec', 'command', 'name'] });
    return undefined;
  }
  for (const [key, value] of Object.entries(cmd.inputs)) {
    const path = ['spec', 'command', 'inputs', key];
    const pattern = def.inputs[key];
    if (pattern === undefined) {
      out.push({ code: 'POLICY_INPUT', message: `input "${key}" is not accepted by command ${def.name}; accepted: ${Object.keys(def.inputs).join(', ') || '(none)'}`, path });
      continue;
    }
    const unsafe = unsafeInput(value);
    if (unsafe) {
      out.push({ code: 'INPUT_UNSAFE', message: `input ${key} ${JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)} ${unsafe}; inputs are ${SAFE_INPUT_HINT}`, path });
      continue;
    }
    const re = wholeMatch(pattern);
    if (!re) out.push({ code: 'POLICY_INVALID', message: `command ${def.name} has an invalid pattern ${JSON.stringify(pattern)} for input ${key}`, path });
    else if (!re.test(value)) out.push({ code: 'POLICY_INPUT', message: `input ${key} ${JSON.stringify(value)} does not match the whole of the pattern ${JSON.stringify(pattern)}`, path });
  }
  for (const key of Object.keys(def.inputs)) {
    if (!(key in cmd.inputs))
      out.push({ code: 'POLICY_INPUT', message: `command ${def.name} needs input "${key}" (matching ${JSON.stringify(def.inputs[key])})`, path: ['spec', 'command', 'inputs'] });
  }
  return def;
}

/**
 * When a request was created and the last moment it may still be approved
 * (`created` + the policy's `requestExpiry`), in epoch ms: computed here only,
 * for the verdict and for the approval view alike. Undefined when either
 * cannot be read (the schema refuses both, so only for unvalidated input).
 */
export function requestWindow(request: Request, policy: Policy): { created: number; deadline: number } | undefined {
  const created = parseTime(request.metadata.created);
  const expiry = parseDuration(policy.spec.requestExpiry);
  return created === undefined || expiry === undefined ? undefined : { created, deadline: created + expiry * 1000 };
}

function checkAge(request: Request, policy: Policy, now: number, out: Violation[]): void {
  const w = requestWindow(request, policy);
  if (!w) return;
  if (w.created > now + CLOCK_SKEW_MS) {
    out.push({ code: 'REQUEST_FUTURE', message: `created ${request.metadata.created} is in the future; use the current UTC time`, path: ['metadata', 'created'] });
  } else if (now > w.deadline) {
    out.push({
      code: 'REQUEST_STALE',
      message: `request created ${request.metadata.created} is older than the ${policy.spec.requestExpiry} policy ${policy.metadata.name} allows for approval; open a new request`,
      path: ['metadata', 'created'],
    });
  }
}

export interface EvaluateOptions {
  now: number;
  /** Check `requestExpiry`; off for sessions that already ended, were rejected or recorded. */
  checkStale: boolean;
}

/** Evaluates a request against the policies; returns every violation at once. */
export function evaluatePolicy(request: Request, policies: readonly Policy[], opts: EvaluateOptions): Evaluation {
  const clusterAdminTier = isClusterAdminTier(request.spec.privilege);
  const found = findGoverning(request, policies);
  if (!found.governing) return { violations: found.violations, clusterAdminTier };
  const g = found.governing;
  const violations: Violation[] = [];
  checkPeople(request, g.policy, violations);
  checkReason(request, g.policy, violations);
  const effectiveSeconds = checkResource(request, g, violations);
  const command = checkCommand(request, g, violations);
  if (opts.checkStale) checkAge(request, g.policy, opts.now, violations);
  return { violations, governing: command ? { ...g, command } : g, effectiveSeconds, clusterAdminTier };
}
