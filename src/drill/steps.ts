/**
 * The drill's steps after the sandbox exists, each one what a person or the
 * runner does in a real session, each throwing `DrillFailure` when the
 * rehearsal shows a problem. The runner is the real one, assembled in-process
 * from the sandbox config, so the timings are the runner's work and not a
 * process start.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../adapters/git.js';
import { readHistory } from '../adapters/history.js';
import { statusOf, tokenKubeConfig } from '../adapters/kubernetes.js';
import { loadRunnerKeys, loadTrust } from '../adapters/trust.js';
import { verifyDelivery } from '../core/verify-delivery.js';
import { auditHistory } from '../core/audit.js';
import { loadDocument } from '../core/document.js';
import { readPrivateKey, verifyDetached } from '../crypto/openpgp.js';
import type { RunnerDeps, Target } from '../runner/context.js';
import { credentialDigest } from '../runner/delivery.js';
import { reconcileOnce } from '../runner/loop.js';
import { accessChecks, runAccessChecks, tokenAccepted } from './checks.js';
import { drillApproval, drillEnd, drillRequest, DRILL_APPROVER } from './documents.js';
import { commitAndPush, signAsDrill, writeFileIn, type Sandbox } from './sandbox.js';

/** The rehearsal found a problem (exit 1), as opposed to an operational error (exit 2). */
export class DrillFailure extends Error {}

/** What the steps share: the sandbox, the assembled runner, and what earlier steps learnt. */
export interface DrillState {
  sb: Sandbox;
  deps: RunnerDeps;
  target: Target;
  /** The runner's log, for the failure detail. */
  log: string[];
  token?: string;
  endPushed?: boolean;
  record?: { drill: boolean; outcome: string; revocation?: string; signedBy: string };
}

const id = (s: DrillState): string => s.sb.spec.session;

/** The runner's last words about this session, for a failure message. */
function runnerSaid(s: DrillState): string {
  const lines = s.log.filter((l) => l.includes(id(s)) || /failed|refus/i.test(l)).slice(-3);
  return lines.length ? `; the runner said: ${lines.join(' | ')}` : '';
}

export async function pushApprovedRequest(s: DrillState): Promise<string> {
  const now = s.deps.now();
  const digest = await writeFileIn(s.sb, `sessions/${id(s)}/request.yaml`, drillRequest(s.sb.spec, now - 5_000));
  const approval = drillApproval(s.sb.spec, digest, now - 5_000);
  await writeFileIn(s.sb, `sessions/${id(s)}/approvals/${DRILL_APPROVER}.yaml`, approval);
  await writeFileIn(s.sb, `sessions/${id(s)}/approvals/${DRILL_APPROVER}.yaml.asc`, await signAsDrill(s.sb, approval, now));
  const commit = await commitAndPush(s.sb, `drill: request ${id(s)}, approved by the drill key`);
  return `request and signed approval on main at ${commit.slice(0, 12)}`;
}

export async function activateAndDeliver(s: DrillState): Promise<string> {
  await reconcileOnce(s.deps);
  const sealed = await readFile(join(s.sb.outbox, `${id(s)}.asc`), 'utf8').catch(() => undefined);
  if (!sealed) throw new DrillFailure(`the runner delivered no credential${runnerSaid(s)}`);
  const marker = await s.target.markers.get(id(s));
  return `sealed credential delivered; session ${marker?.state.phase ?? 'unknown'} until ${marker?.state.expires ?? '?'}`;
}

export async function receiveAndUse(s: DrillState): Promise<string> {
  const sealed = await readFile(join(s.sb.outbox, `${id(s)}.asc`), 'utf8');
  // As `receive` does: only a delivery signed by this runner's key, bound to this session, is used.
  const pin = { keys: [s.deps.signingKey.toPublic()] };
  const { payload } = await verifyDelivery(sealed, await readPrivateKey(s.sb.vendor.privateKey), pin, { session: id(s), repository: s.deps.config.repository.name }, new Date(s.deps.now()));
  if (payload.type !== 'kubernetes-token') throw new DrillFailure(`the runner delivered a ${payload.type} credential, not a Kubernetes token`);
  s.token = payload.token;
  // In memory only: the drill never writes the credential to disk.
  const kc = tokenKubeConfig(payload.server, payload.certificateAuthority, payload.token);
  const checks = accessChecks(s.sb.spec.privilege, s.target.namespace);
  const problems = await runAccessChecks(kc, checks, s.deps.delay);
  if (problems.length) throw new DrillFailure(`the credential does not grant exactly ${s.sb.spec.privilege}: ${problems.join('; ')}`);
  return `token accepted by ${payload.server}; ${checks.map((c) => `${c.what}: ${c.allowed ? 'allowed' : 'refused'}`).join(', ') || 'authenticated'}`;
}

export async function pushEnd(s: DrillState): Promise<string> {
  await writeFileIn(s.sb, `sessions/${id(s)}/end.yaml`, drillEnd(s.sb.spec, s.deps.now()));
  const commit = await commitAndPush(s.sb, `drill: end ${id(s)}`);
  s.endPushed = true;
  return `end.yaml on main at ${commit.slice(0, 12)}`;
}

export async function teardownAndRevoke(s: DrillState): Promise<string> {
  await reconcileOnce(s.deps);
  const phase = (await s.target.markers.get(id(s)))?.state.phase;
  if (phase !== 'ended') throw new DrillFailure(`the session is ${phase ?? 'without a marker'}, not ended, after the runner's teardown${runnerSaid(s)}`);
  // The runner proved it with a TokenReview; ask once more with the token itself.
  const kc = tokenKubeConfig(s.target.server, s.target.caPem, s.token ?? '');
  const accepted = await tokenAccepted(kc).catch((e: unknown) => (statusOf(e) === 403 ? true : Promise.reject(e)));
  if (accepted) throw new DrillFailure('the delivered token is still accepted after teardown');
  return 'bindings and ServiceAccount deleted; the token now gets 401';
}

async function remoteBytes(s: DrillState, path: string): Promise<Buffer> {
  return (
    await git(s.sb.remote, ['show', `main:${path}`]).catch(() => {
      throw new DrillFailure(`no ${path} on the sandbox's main: the runner pushed no record${runnerSaid(s)}`);
    })
  ).stdout;
}

export async function verifyRecord(s: DrillState): Promise<string> {
  const path = `sessions/${id(s)}/record.yaml`;
  const bytes = await remoteBytes(s, path);
  const sig = await remoteBytes(s, `${path}.asc`);
  const signer = await verifyDetached(bytes, sig, [s.deps.signingKey.toPublic()], new Date(s.deps.now())).catch((e: Error) => {
    throw new DrillFailure(`the record's signature does not verify with the runner key: ${e.message}`);
  });
  const doc = loadDocument(path, bytes, 'Record');
  if (!doc.ok) throw new DrillFailure(`the record is not a valid Record: ${doc.findings.map((f) => f.message).join('; ')}`);
  const r = doc.value;
  s.record = { drill: r.drill, outcome: r.outcome, revocation: r.revocation?.result, signedBy: signer.primaryFingerprint };
  const problems = [
    r.drill ? '' : 'it is not marked drill: true',
    r.runner.fingerprint === s.deps.fingerprint ? '' : `it names runner key ${r.runner.fingerprint}`,
    r.outcome === 'ended' ? '' : `its outcome is ${r.outcome}`,
    r.revocation?.result === 'unauthenticated' ? '' : `its revocation proof is ${r.revocation?.result ?? 'missing'}`,
    r.credential?.sha256 === credentialDigest(s.token ?? '') ? '' : 'its credential digest is not that of the token delivered',
  ].filter(Boolean);
  if (problems.length) throw new DrillFailure(`the record is wrong: ${problems.join('; ')}`);
  return `drill: true, outcome ended, revocation ${r.revocation!.result}, signed by runner key ${signer.primaryFingerprint}`;
}

export async function auditSandbox(s: DrillState): Promise<string> {
  const history = await readHistory(s.sb.remote, 'main');
  const trust = { approvals: await loadTrust(s.sb.trustFile), runner: await loadRunnerKeys(s.sb.trustFile) };
  const report = await auditHistory(history, trust, { repository: s.sb.spec.repository, now: s.deps.now(), pollSeconds: s.deps.config.pollSeconds, toleranceSeconds: 15 });
  const findings = [...report.findings, ...report.sessions.flatMap((x) => x.findings)];
  if (!report.clean) throw new DrillFailure(`audit of the sandbox history found ${findings.map((f) => `${f.code}: ${f.message}`).join('; ')}`);
  return `clean: ${report.sessions.length} session, ${report.commits} commits, 0 findings`;
}
