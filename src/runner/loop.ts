/**
 * The reconcile loop, in the same order every time:
 *   1. fetch (outbound only)
 *   2. open markers: tear down what ended or expired, roll back dead activations.
 *      Ends are found by a minimal read (does sessions/<id>/end.yaml exist?) of
 *      the sessions the runner's own markers name: nothing a vendor wrote is
 *      parsed first, so no repository content can keep a session open.
 *   3. candidates (only sessions changed since the last processed commit, plus
 *      pending ones when policies changed, plus those that failed last loop):
 *      verify against the runner's own trust, policy and caps; activate. Each
 *      session in its own try: one failure is recorded in loop.json, the
 *      others proceed.
 *   4. reap orphans by label
 *   5. push queued records
 *   6. send queued notifications in the background (runner/notify.ts)
 * Git being unreachable skips only 3 and 5's push: sessions still end on time,
 * because their expiry lives in the marker, not in git.
 */
import { BreakglassError } from '../core/errors.js';
import { parseKubePrivilege } from '../core/privilege.js';
import type { Governing } from '../core/policy.js';
import { loadRepository, type RepositoryModel, type SessionFiles } from '../core/repository.js';
import type { Request } from '../core/schemas.js';
import { decide } from '../core/session-state.js';
import type { PolicyVersionLookup } from '../core/policy-versions.js';
import { verdictLine } from '../core/verdict.js';
import { verifyPolicies, verifySession } from '../core/verify-session.js';
import { gitPolicyVersions } from '../adapters/policy-history.js';
import type { CommitSource } from '../adapters/source.js';
import type { RunnerStep } from '../core/reasons.js';
import { activate, planFor } from './activate.js';
import { failureCode } from './failure-code.js';
import type { RunnerDeps, Target } from './context.js';
import { markerFactsOf, type Marker, type UnreadableMarker } from './marker.js';
import { checkOwnRecord } from './own-record.js';
import { privilegeRefusal } from './privileges.js';
import { networkRefusal } from './providers/index.js';
import { watchPath } from './path-watch.js';
import { preflightRefusal } from './provider-preflight.js';
import { readPolicyMemory, remember, remembered, writePolicyMemory, type PolicyMemory } from './policy-memory.js';
import { reap } from './reaper.js';
import { recordingRefusal } from './recording.js';
import { flushRecords, pendingRecords } from './records.js';
import { readLoopState, writeLoopState, type LoopState, type SessionProblem } from './repo.js';
import { rollback, teardown } from './teardown.js';
import { markerFacts } from './notify.js';
import { messageOf } from '../crypto/error-parts.js';

interface GitView {
  commit: string;
  source: CommitSource;
  model: RepositoryModel;
  ids: string[];
  /** Approved versions of each policy path: git history at `commit` plus this runner's memory. */
  versions: PolicyVersionLookup;
  policiesChanged: boolean;
}

/**
 * The policy versions the rollback rule compares with. The memory is read
 * lazily: a corrupt file (STATE_INVALID) stops activations, which need it,
 * and nothing else — end requests and teardowns go on.
 */
function policyVersions(d: RunnerDeps, commit: string): PolicyVersionLookup {
  const fromGit = gitPolicyVersions(d.mirror.dir, commit, d.config.repository.name, d.trust);
  let memory: Promise<PolicyMemory> | undefined;
  return async (path) => [...(await fromGit(path)), ...remembered(await (memory ??= readPolicyMemory(d.config.state)), path)];
}

/** Remembers the newest approved version of each policy file, so a rewritten history cannot roll one back. */
async function rememberPolicies(d: RunnerDeps, git: GitView): Promise<void> {
  if (!git.policiesChanged) return;
  const memory = await readPolicyMemory(d.config.state);
  let changed = false;
  for (const p of (await verifyPolicies(git.model, d.trust, d.config.repository.name, d.now(), { policyVersions: git.versions })).values()) {
    if (p.verdict.approved && p.verdict.approvedAt !== undefined) changed = remember(memory, p.path, p.digest, p.verdict.approvedAt) || changed;
  }
  if (changed) await writePolicyMemory(d.config.state, memory);
}

/** Step 1: fetch; undefined when the remote cannot be reached (markers still end on time). */
async function fetchHead(d: RunnerDeps): Promise<string | undefined> {
  try {
    const head = await d.mirror.fetch();
    d.metrics?.polled(d.now());
    return head;
  } catch (e) {
    d.log(`git: fetch failed, continuing with markers only: ${messageOf(e)}`, { event: 'fetch-failed', code: 'GIT_UNREACHABLE' });
    return undefined;
  }
}

/** Step 3's read: only what changed (plus pending sessions when policies changed, plus last loop's failures). */
async function readCandidates(d: RunnerDeps, st: LoopState, commit: string): Promise<GitView> {
  const ch = await d.mirror.changes(st.lastCommit, commit);
  const ids = new Set(ch.sessions);
  if (ch.policies) for (const id of st.pending) ids.add(id);
  for (const id of Object.keys(st.failures ?? {})) ids.add(id);
  const list = [...ids].sort();
  const source = await d.mirror.source(commit, list);
  // Never throws because of what an entry is: a symlink, gitlink or huge blob makes only its own session unreadable.
  return { commit, source, model: await loadRepository(source), ids: list, versions: policyVersions(d, commit), policiesChanged: ch.policies };
}

/**
 * Step 2 for one marker: decide() says what to do, and only that is done.
 * An open marker's request was verified when it activated; what git can add
 * now is only an end.
 */
async function handleOpen(d: RunnerDeps, t: Target, m: Marker, ends: ReadonlySet<string>): Promise<void> {
  const s = m.state;
  const tr = decide({ requestValid: true, rejected: false, endRequested: ends.has(s.session), recorded: false, marker: markerFactsOf(s, d) }, d.now());
  switch (tr.action) {
    case 'teardown':
    case 'resume-teardown':
      await teardown(d, t, m, tr);
      return;
    case 'rollback':
      // A dead activation (ours from before a restart, or a stale one): never resumed.
      await rollback(d, t, m, { step: 'interrupted', code: 'RUNNER_INTERRUPTED', message: `${tr.reason}; rolled back, nothing further delivered` }, []);
      return;
  }
  if (tr.state !== 'active') return;
  // Open and within its time box: does its path still carry traffic?
  await watchPath(d, t, m);
  await d.notifier?.checkActive(s.session, s.expires, markerFacts(s));
}

/**
 * Local caps the policy cannot override: the resource must be configured
 * here, in a form this runner can assemble — its network path and its
 * credential. Refused sessions stay pending with the reason; nothing is created.
 */
function localRefusal(d: RunnerDeps, req: Request, governing: Governing): string | undefined {
  const { resource, privilege, network } = req.spec;
  const t = d.targets.get(resource);
  if (!t) return `resource ${resource} is not configured on this runner`;
  const type = governing.resource.type;
  if (type === 'kubernetes' && !parseKubePrivilege(privilege)) return `privilege ${privilege} is not a Kubernetes privilege`;
  if (type === 'kubernetes' && !t.server) return `resource ${resource} has no server in this runner's config: a Kubernetes credential needs one for the vendor's kubeconfig`;
  // A resource without a cluster can hold only what needs none: a command credential (or vendor-held) over the direct path.
  if (t.clusterless && (type === 'kubernetes' || network !== 'direct'))
    return `resource ${resource} keeps file markers and has no cluster on this runner: only command or vendor-held credentials over the direct network (not ${type} over ${network})`;
  if (type === 'command' && !d.config.commands) return `resource ${resource} is a command resource, but this runner's config has no commands section`;
  return networkRefusal(network, t.config, d.env, governing.resource.networkPolicy);
}

/** What examining one candidate came to: still pending or not, and why it was refused, if it was. */
interface CandidateOutcome {
  pending: boolean;
  refused?: SessionProblem;
}

/**
 * Only a record signed by this runner's key closes a session. A planted one
 * is reported and ignored: the session is judged as if it were not there.
 */
async function ownRecord(d: RunnerDeps, git: GitView, s: SessionFiles): Promise<SessionProblem | 'ours' | undefined> {
  if (!s.record) return undefined;
  const sig = s.record.signatures.find((x) => x.type === 'openpgp');
  const check = await checkOwnRecord(s.id, s.record.bytes, sig?.bytes, d.publicKey, d.now());
  if (check.ok) return 'ours';
  d.log(`session ${s.id}: record.yaml ignored at ${git.commit.slice(0, 12)}: ${check.code}: ${check.message}`);
  return { code: check.code, message: check.message };
}

/** Step 3 for one candidate. */
async function handleCandidate(d: RunnerDeps, git: GitView, id: string): Promise<CandidateOutcome> {
  const s = git.model.sessions.get(id);
  if (!s) return { pending: false };
  if (s.unreadable?.length) {
    const message = s.unreadable.map((r) => `${r.code} ${r.path}`).join('; ');
    d.log(`session ${id}: pending: SESSION_UNREADABLE: ${message}; nothing in this folder is used`);
    return { pending: true, refused: { code: 'SESSION_UNREADABLE', message } };
  }
  const req = s.request?.value;
  const record = req && (await ownRecord(d, git, s));
  // The folder is the session's id everywhere (marker, claim, end.yaml, record); a request naming another is never activated.
  const sameId = req?.metadata.id === id;
  const facts = { requestValid: req !== undefined && sameId, rejected: s.rejection !== undefined, endRequested: s.end !== undefined, recorded: record === 'ours' };
  // First from git alone: a closed session is settled without an API call (an open marker is step 2's business).
  let tr = decide(facts, d.now());
  if (tr.state !== 'pending') {
    if (!req || sameId) return { pending: false };
    const message = `metadata.id "${req.metadata.id}" is not the folder name`;
    d.log(`session ${id}: refused: REQUEST_ID_MISMATCH: ${message}`);
    return { pending: false, refused: { code: 'REQUEST_ID_MISMATCH', message } };
  }
  const t = req && d.targets.get(req.spec.resource);
  const marker = t && (await t.markers.get(id));
  const seen = { ...facts, marker: marker && markerFactsOf(marker.state, d) };
  tr = decide(seen, d.now());
  if (tr.state !== 'pending' || !req) return { pending: false };
  const planted = record === 'ours' ? undefined : record;
  // A planted record is judged as absent everywhere, so it cannot turn off checks meant for pending sessions (request expiry).
  const model = planted ? { ...git.model, sessions: new Map(git.model.sessions).set(id, { ...s, record: undefined }) } : git.model;
  const verdict = await verifySession(model, id, d.trust, d.config.repository.name, d.now(), { policyVersions: git.versions });
  const verified = verdict.approved ? verdict.session : undefined;
  const governing = verified?.governing;
  const refusal = governing ? localRefusal(d, req, governing) : undefined;
  // The provider's credentials must still pass preflight. A failure is the runner's, not the request's:
  // thrown, so the session is retried every loop (loop.json failures) and opens once the scopes are granted.
  const preflight = governing && !refusal && t ? await preflightRefusal(d, t, req.spec.network) : undefined;
  if (preflight) throw new BreakglassError('PROVIDER_PREFLIGHT', preflight);
  // A session that cannot be recorded as its policy and this runner's config ask is refused before anything exists.
  const recording = governing && !refusal && t ? recordingRefusal(d, t, governing, req.spec.recipient) : undefined;
  // The runner's own privilege limits, judged against the live cluster; nothing exists yet if they refuse.
  const privilege = governing && !refusal && !recording && t && governing.resource.type === 'kubernetes' ? await privilegeRefusal(d, t, req.spec.privilege, governing.policy) : undefined;
  const problem = recording ?? privilege;
  const reason = verified ? (refusal ?? (problem && `${problem.code}: ${problem.message}`)) : verdictLine(verdict);
  tr = decide({ ...seen, verified: reason ? { ok: false, reason } : { ok: true } }, d.now());
  d.log(`session ${id}: ${tr.state}: ${tr.reason}`);
  if (tr.action !== 'activate' || !t || !verified) return { pending: true, refused: problem ?? planted };
  const approved = { session: verified, commit: git.commit, source: git.source };
  if (d.dryRun) {
    // The plan activation would apply, handed over instead of applied.
    d.dryRun(await planFor(d, t, approved, d.now()));
    return { pending: true };
  }
  await activate(d, t, approved);
  return { pending: false };
}

/**
 * Dry run: reads git and verifies exactly as a reconcile would, and hands each
 * plan to `d.dryRun` instead of applying it. Writes nothing anywhere: no
 * marker, no object, no loop state (so the real run still sees every session).
 */
export async function planOnce(d: RunnerDeps): Promise<void> {
  const commit = await fetchHead(d);
  const git = commit ? await readCandidates(d, await readLoopState(d.config.state, d.log), commit) : undefined;
  for (const id of git ? git.ids : []) await guarded(d, 'session', `session ${id}`, () => handleCandidate(d, git!, id));
}

/** Runs steps that must not stop the others: each failure is logged, retried next loop, and returned. */
async function guarded(d: RunnerDeps, step: RunnerStep, what: string, fn: () => Promise<unknown>): Promise<SessionProblem | undefined> {
  try {
    await fn();
    return undefined;
  } catch (e) {
    // Our own code when the error has one, else the step's (never a generic ERROR).
    const problem = { code: failureCode(e, step), message: messageOf(e) };
    d.metrics?.failures.inc({ step, code: problem.code });
    d.log(`${what}: ${problem.code}: ${problem.message}; will retry next loop`, { event: 'retry', code: problem.code });
    return problem;
  }
}

/**
 * A marker that cannot be read is never acted on: nothing is activated,
 * torn down or rolled back from a state nobody can read. It is reported at
 * error level every loop (and kept in loop.json's failures) until an
 * operator repairs it; meanwhile the reaper still deletes the session's
 * labelled objects once their expiry annotation has passed.
 */
function refuseUnreadable(d: RunnerDeps, u: UnreadableMarker): SessionProblem {
  d.metrics?.failures.inc({ step: 'markers', code: u.error.code });
  d.log(`session ${u.session}: ${u.error.message}`, { session: u.session, event: 'marker-invalid', code: u.error.code, level: 'error' });
  return { code: u.error.code, message: u.error.message };
}

/**
 * Step 2: every open marker, ended or expired first. The ends come from the
 * runner's own state (loop.json) and a minimal read of git for the sessions
 * its markers name; a failing read only loses this loop's new ends, never expiries.
 */
async function closeOpen(d: RunnerDeps, st: LoopState, commit: string | undefined, failures: Map<string, SessionProblem>): Promise<void> {
  const open: [Target, Marker][] = [];
  const unreadable: UnreadableMarker[] = [];
  let listedAll = true;
  for (const t of d.targets.values()) {
    const err = await guarded(d, 'markers', `markers of ${t.resource}`, async () => {
      const listed = await t.markers.listOpen();
      open.push(...listed.markers.map((m): [Target, Marker] => [t, m]));
      unreadable.push(...listed.unreadable);
    });
    if (err) listedAll = false;
  }
  for (const u of unreadable) failures.set(u.session, refuseUnreadable(d, u));
  // An unreadable marker's session keeps its end request: it is honoured once the marker is repaired.
  const ids = [...open.map(([, m]) => m.state.session), ...unreadable.map((u) => u.session)];
  if (listedAll) d.metrics?.openPhases(open.map(([, m]) => m.state.phase));
  const ends = new Set(st.ends ?? []);
  if (commit)
    await guarded(d, 'git', 'git: end.yaml lookup', async () => {
      for (const id of await d.mirror.endsAt(commit, ids)) ends.add(id);
    });
  for (const [t, m] of open) {
    const id = m.state.session;
    const err = await guarded(d, 'teardown', `session ${id}`, () => handleOpen(d, t, m, ends));
    if (err) failures.set(id, err);
  }
  // An end.yaml is remembered until the teardown it asks for has completed, even if this loop's teardown fails.
  st.ends = [...ends].filter((id) => !listedAll || ids.includes(id)).sort();
}

/** Step 3: each candidate on its own. When the candidates cannot be read at all, lastCommit stays put and the next loop retries. */
async function examineCandidates(d: RunnerDeps, st: LoopState, commit: string, failures: Map<string, SessionProblem>): Promise<void> {
  let git: GitView | undefined;
  const err = await guarded(d, 'git', 'git: reading sessions', async () => (git = await readCandidates(d, st, commit)));
  if (err || !git) return;
  const view: GitView = git;
  await guarded(d, 'policies', 'policy versions', () => rememberPolicies(d, view));
  const pending = new Set(st.pending);
  const refused = new Map(Object.entries(st.refused ?? {}));
  for (const id of view.ids) {
    let outcome: CandidateOutcome = { pending: true };
    const failed = await guarded(d, 'session', `session ${id}`, async () => (outcome = await handleCandidate(d, view, id)));
    if (failed) failures.set(id, failed);
    if (outcome.pending) pending.add(id);
    else pending.delete(id);
    if (!failed && outcome.refused) refused.set(id, outcome.refused);
    else if (!failed) refused.delete(id);
  }
  st.lastCommit = view.commit;
  st.pending = [...pending].sort();
  st.refused = Object.fromEntries([...refused].sort(([a], [b]) => a.localeCompare(b)));
}

/** One full reconcile, timed. */
export async function reconcileOnce(d: RunnerDeps, o: { activate?: boolean } = {}): Promise<void> {
  const end = d.metrics?.loopSeconds.startTimer();
  try {
    await reconcile(d, o.activate ?? true);
  } finally {
    end?.();
  }
}

/**
 * The loop's steps. With `activate` false (a runner whose preflight failed)
 * only step 3 is skipped: sessions still end on time and records are pushed,
 * but nothing new is examined or minted.
 */
async function reconcile(d: RunnerDeps, activate: boolean): Promise<void> {
  const st = await readLoopState(d.config.state, d.log);
  const previous = st.failures ?? {};
  const failures = new Map<string, SessionProblem>();
  const commit = await fetchHead(d);
  await closeOpen(d, st, commit, failures);
  if (commit && activate) await examineCandidates(d, st, commit, failures);
  else if (!commit) for (const [id, p] of Object.entries(previous)) if (!failures.has(id)) failures.set(id, p);
  st.failures = Object.fromEntries([...failures].sort(([a], [b]) => a.localeCompare(b)));
  await writeLoopState(d.config.state, st);
  for (const t of d.targets.values()) if (!t.clusterless) await guarded(d, 'reaper', `reaper of ${t.resource}`, () => reap(d, t));
  await guarded(d, 'records', 'records', () => flushRecords(d.mirror, d.config.state, d.log, d));
  d.metrics?.pendingRecords.set(await pendingRecords(d.config.state));
  // 6. notifications, in the background: a channel that hangs never holds up the next loop's teardowns.
  d.notifier?.kick();
}

/** Reconciles every `pollSeconds` until `signal` aborts. */
export async function runLoop(d: RunnerDeps, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await reconcileOnce(d);
    await new Promise<void>((res) => {
      const timer = setTimeout(res, d.config.pollSeconds * 1000);
      signal.addEventListener('abort', () => (clearTimeout(timer), res()), { once: true });
    });
  }
  await d.notifier?.idle();
}
