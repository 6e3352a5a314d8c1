/**
 * The credential, by the governing resource's type (DESIGN "Providers"):
 *  - kubernetes:  a TokenRequest token for a session ServiceAccount (kubernetes-token.ts);
 *  - command:     the approved command's stdout (providers/command.ts), run with
 *                 the runner's `commands` settings; `revoke` runs at teardown;
 *  - vendor-held: nothing is minted or delivered; only the network path opens.
 * Whatever is issued lives in memory only until it is sealed to the recipient.
 */
import { BreakglassError } from '../core/errors.js';
import { durationSeconds } from '../core/duration.js';
import type { SessionPlan } from '../core/plan.js';
import type { DenyRule } from '../core/schemas.js';
import { newGatewayCredential } from './gateway/sessions.js';
import type { RunnerDeps, Target } from './context.js';
import { credentialDigest, type SealedPayload } from './delivery.js';
import type { MarkerState } from './marker.js';
import { mintCommand, revokeCommand, type CommandRun } from './providers/command.js';
import { mint } from './providers/kubernetes-token.js';
import type { ObjectRef } from './providers/types.js';

/** What activation got from the credential step. */
export interface Issued {
  /** What is sealed to the recipient; undefined for vendor-held (nothing is delivered). */
  payload?: SealedPayload;
  sha256?: string;
  /** The session's expiry: the plan's, shortened if the environment granted less. */
  expires: string;
  /** A Kubernetes token, kept (sealed to the runner's own key) for the TokenReview proof after a restart. */
  token?: string;
  /** Set when the session is recorded: the vendor got a gateway credential, and the token never leaves the runner. */
  gateway?: MarkerState['gateway'];
}

/** The run of a command resource's approved command, with the runner's settings; throws when this runner has none. */
export function commandRun(d: RunnerDeps, s: Pick<MarkerState, 'session' | 'expires' | 'command'>, expires: string): CommandRun {
  const settings = d.config.commands;
  if (!settings) throw new BreakglassError('COMMAND_UNAVAILABLE', 'this runner has no commands section in its config: command resources are refused');
  if (!s.command) throw new BreakglassError('COMMAND_UNAVAILABLE', `session ${s.session} has no approved command in its marker`);
  // The policy may shorten or lengthen the runner's default per command; the timeout always applies.
  const timeoutMs = durationSeconds(s.command.def.timeout ?? settings.timeout) * 1000;
  return {
    session: s.session,
    expires,
    def: s.command.def,
    inputs: s.command.inputs,
    settings: { path: settings.path, env: settings.env, timeoutMs, maxOutputBytes: settings.maxOutputBytes },
    runnerEnv: d.env,
  };
}

/** Issues the session's credential; `created` receives every Kubernetes object as soon as it exists. */
export async function issue(d: RunnerDeps, t: Target, plan: SessionPlan, state: MarkerState, created: ObjectRef[], at: (step: string) => Promise<void>, deny?: DenyRule[]): Promise<Issued> {
  const base = { apiVersion: 'breakglass.dev/v1', kind: 'Credential', session: plan.session } as const;
  if (plan.type === 'vendor-held') return { expires: plan.expires };
  if (plan.type === 'command') {
    const run = commandRun(d, state, plan.expires);
    const out = await mintCommand(run);
    await at('credential');
    const payload: SealedPayload = { ...base, type: 'command', command: run.def.name, encoding: 'base64', data: out.toString('base64'), expires: plan.expires };
    return { payload, sha256: credentialDigest(out), expires: plan.expires };
  }
  const minted = await mint(t.kube, plan, created, at);
  if (t.gateway) {
    // Recorded: the vendor's kubeconfig points at the gateway with a credential only the gateway accepts;
    // the ServiceAccount token stays with the runner (sealed to its own key in the marker).
    const credential = newGatewayCredential(plan.session);
    const payload: SealedPayload = { ...base, type: 'kubernetes-token', server: t.gateway.url, certificateAuthority: t.gateway.caPem, token: credential, expires: minted.expires };
    const gateway = { url: t.gateway.url, deny: deny ?? [], runnerNamespaces: [...new Set([...d.targets.values()].map((x) => x.namespace))] };
    return { payload, sha256: credentialDigest(credential), expires: minted.expires, token: minted.token, gateway };
  }
  const payload: SealedPayload = { ...base, type: 'kubernetes-token', server: t.server, certificateAuthority: t.caPem, token: minted.token, expires: minted.expires };
  return { payload, sha256: credentialDigest(minted.token), expires: minted.expires, token: minted.token };
}

/**
 * Revokes a command credential through the approved `revoke` argv; its
 * success is the proof recorded. A command without `revoke` records no
 * proof, which `audit` reports: nothing showed the credential dead.
 */
export async function revokeIssued(d: RunnerDeps, s: MarkerState): Promise<{ method: string; result: string } | undefined> {
  if (s.type !== 'command' || !s.command) return undefined;
  const ran = await revokeCommand(commandRun(d, s, s.expires ?? ''));
  if (!ran) {
    d.log(`session ${s.session}: command ${s.command.def.name} has no revoke; nothing proves its credential dead`);
    return undefined;
  }
  return { method: 'command', result: 'revoked' };
}
