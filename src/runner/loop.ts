/**
 * The reconcile loop, in the same order every time:
 *   1. read git (fetch; only sessions changed since the last processed commit)
 *   2. open markers: tear down what ended or expired, roll back dead activations
 *   3. candidates: verify against the runner's own trust, policy and caps; activate
 *   4. reap orphans by label
 *   5. push queued records
 * Git being unreachable skips only 1 and 5's push: sessions still end on time,
 * because their expiry lives in the marker, not in git.
 */
import { parseTime } from '../core/duration.js';
import { parseKubePrivilege } from '../core/privilege.js';
import type { Governing } from '../core/policy.js';
import { loadRepository, type RepositoryModel } from '../core/repository.js';
import type { Request } from '../core/schemas.js';
import { decide } from '../core/session-state.js';
import type { PolicyVersionLookup } from '../core/policy-versions.js';
import { verdictLine } from '../core/verdict.js';
import { verifyPolicies, verifySession } from '../core/verify-session.js';
import { gitPolicyVersions } from '../adapters/policy-history.js';
import type { CommitSource } from '../adapters/source.js';
import { activate, planFor } from './activate.js';
import type { RunnerDeps, Target } from './context.js';
import type { Marker } from './marker.js';
import { networkRefusal } from './providers/index.js';
import { readPolicyMemory, remember, remembered, writePolicyMemory, type PolicyMemory } from './policy-memory.js';
import { reap } from './reaper.js';
import { flushRecords } from './records.js';
import { readLoopState, writeLoopState, type LoopState } from './repo.js';
import { rollback, teardown } from './teardown.js';

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

/** Step 1: fetch and load only what changed (plus pending sessions when policies changed). */
async function readGit(d: RunnerDeps, st: LoopState): Promise<GitView | undefined> {
  let commit: string;
  try {
    commit = await d.mirror.fetch();
  } catch (e) {
    d.log(`git: fetch failed, continuing with markers only: ${(e as Error).message}`);
    return undefined;
  }
  const ch = await d.mirror.changes(st.lastCommit, commit);
  const ids = new Set(ch.sessions);
  if (ch.policies) for (const id of st.pending) ids.add(id);
  const list = [...ids].sort();
  const source = await d.mirror.source(commit, list);
  return { commit, source, model: await loadRepository(source), ids: list, versions: policyVersions(d, commit), policiesChanged: ch.policies };
}

/** Step 2 for one marker. */
async function handleOpen(d: RunnerDeps, t: Target, m: Marker, ends: ReadonlySet<string>): Promise<void> {
  const s = m.state;
  const tr = decide({ requestValid: true, rejected: false, endRequested: ends.has(s.session), recorded: false, marker: { phase: s.phase, expires: parseTime(s.expires ?? '') } }, d.now());
  if (tr.action === 'teardown' || tr.action === 'resume-teardown') {
    await teardown(d, t, m, tr.reason);
  } else if (tr.action === 'rollback') {
    // Only a dead activation is rolled back: our own (we are single-threaded, so ours is from before a restart) or a stale one.
    const mine = s.runner === d.runnerId;
    const stale = d.now() - (parseTime(s.started) ?? 0) > d.staleActivationMs;
    if (mine || stale) await rollback(d, t, m, { step: 'interrupted', code: 'RUNNER_INTERRUPTED', message: 'the runner stopped during activation; rolled back, nothing further delivered' }, []);
  }
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
  if (type === 'command' && !d.config.commands) return `resource ${resource} is a command resource, but this runner's config has no commands section`;
  return networkRefusal(network, t.config, d.env, governing.resource.networkPolicy);
}

/** Step 3 for one candidate; returns true when the session is still pending. */
async function handleCandidate(d: RunnerDeps, git: GitView, id: string): Promise<boolean> {
  const s = git.model.sessions.get(id);
  const req = s?.request?.value;
  if (!s || !req) return false;
  // Closed sessions are settled from git alone (an open marker is step 2's business): no API call per past session.
  if (s.record || s.rejection || s.end) return false;
  // The folder is the session's id everywhere (marker, claim, end.yaml, record); a request naming another is never activated.
  if (req.metadata.id !== id) return (d.log(`session ${id}: refused: REQUEST_ID_MISMATCH: metadata.id "${req.metadata.id}" is not the folder name`), false);
  const t = d.targets.get(req.spec.resource);
  const marker = t && (await t.markers.get(id));
  const facts = { requestValid: true, rejected: false, endRequested: false, recorded: false, marker: marker && { phase: marker.state.phase } };
  let tr = decide(facts, d.now());
  if (tr.state !== 'pending') return false;
  const verdict = await verifySession(git.model, id, d.trust, d.config.repository.name, d.now(), { policyVersions: git.versions });
  const refusal = verdict.approved ? localRefusal(d, req, verdict.evaluation!.governing!) : undefined;
  const reason = verdict.approved ? refusal : verdictLine(verdict);
  tr = decide({ ...facts, verified: reason ? { ok: false, reason } : { ok: true } }, d.now());
  d.log(`session ${id}: ${tr.state}: ${tr.reason}`);
  if (tr.action !== 'activate' || !t) return true;
  const approved = { request: req, verdict, commit: git.commit, source: git.source };
  if (d.dryRun) return (d.dryRun(planFor(d, t, approved, d.now())), true);
  await activate(d, t, approved);
  return false;
}

/**
 * Dry run: reads git and verifies exactly as a reconcile would, and hands each
 * plan to `d.dryRun` instead of applying it. Writes nothing anywhere: no
 * marker, no object, no loop state (so the real run still sees every session).
 */
export async function planOnce(d: RunnerDeps): Promise<void> {
  const git = await readGit(d, await readLoopState(d.config.state));
  for (const id of git?.ids ?? []) await guarded(d, `session ${id}`, () => handleCandidate(d, git!, id));
}

/** Runs steps that must not stop the others: each failure is logged and retried next loop. */
async function guarded(d: RunnerDeps, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    d.log(`${what}: ${(e as Error).message}; will retry next loop`);
  }
}

/** One full reconcile. */
export async function reconcileOnce(d: RunnerDeps): Promise<void> {
  const st = await readLoopState(d.config.state);
  const git = await readGit(d, st).catch((e: Error) => (d.log(`git: ${e.message}`), undefined));
  // An end.yaml is remembered until the teardown it asks for has completed, even if this loop's teardown fails.
  const ends = new Set(st.ends ?? []);
  for (const s of git?.model.sessions.values() ?? []) if (s.end) ends.add(s.id);
  const stillOpen = new Set<string>();
  let listedAll = true;
  for (const t of d.targets.values()) {
    await guarded(d, `markers of ${t.resource}`, async () => {
      const open = await t.markers.listOpen().catch((e: unknown) => ((listedAll = false), Promise.reject(e)));
      for (const m of open) {
        await guarded(d, `session ${m.state.session}`, () => handleOpen(d, t, m, ends));
        stillOpen.add(m.state.session);
      }
    });
  }
  st.ends = [...ends].filter((id) => !listedAll || stillOpen.has(id)).sort();
  if (git) {
    await guarded(d, 'policy versions', () => rememberPolicies(d, git));
    const pending = new Set(st.pending);
    for (const id of git.ids) {
      let still = true;
      await guarded(d, `session ${id}`, async () => (still = await handleCandidate(d, git, id)));
      if (still) pending.add(id);
      else pending.delete(id);
    }
    st.lastCommit = git.commit;
    st.pending = [...pending].sort();
  }
  await writeLoopState(d.config.state, st);
  for (const t of d.targets.values()) await guarded(d, `reaper of ${t.resource}`, () => reap(d, t));
  await guarded(d, 'records', () => flushRecords(d.mirror, d.config.state, d.log));
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
}
