/**
 * Policies change only with approval: every version of a policy file that
 * reached the default branch must gather threshold policy approvals for its
 * exact bytes while it was in force. Sessions activated under a version
 * before it was approved are caught per session (verifySession reports
 * POLICY_UNAPPROVED at the activation commit); this check catches versions
 * that were never approved at all, used or not.
 */
import { sha256Digest } from './digest.js';
import { approvedVersionIn, checkRollback, policyStem, type ApprovedVersion, type PolicyVersionLookup } from './policy-versions.js';
import { loadRepository } from './repository.js';
import { verifyPolicyApprovals, type PolicyVerdict } from './verify-policy.js';
import type { AuditContext } from './audit-session.js';
import type { AuditFinding } from './audit-types.js';

/** Chain indexes in [from, to) where the approvals of policy `name` changed, plus `from` itself. */
function candidates(ctx: AuditContext, name: string, from: number, to: number): number[] {
  const out = new Set([from]);
  for (const p of ctx.idx.paths('policies').filter((x) => x.startsWith(`policies/approvals/${name}/`))) {
    for (const v of ctx.idx.versionsOf(p)) if (v.at > from && v.at < to) out.add(v.at);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The approved versions of each policy path on the chain up to index `upTo`
 * (inclusive), each judged as of the commit that made it: what the rollback
 * rule compares a version in force at `upTo` with.
 */
export function historyPolicyVersions(ctx: AuditContext, upTo: number): PolicyVersionLookup {
  return async (path) => {
    const name = policyStem(path);
    if (!name) return [];
    const at = new Set(ctx.idx.versionsOf(path).map((v) => v.at));
    for (const p of ctx.idx.paths('policies').filter((x) => x.startsWith(`policies/approvals/${name}/`))) for (const v of ctx.idx.versionsOf(p)) at.add(v.at);
    const out: ApprovedVersion[] = [];
    for (const i of [...at].filter((i) => i <= upTo).sort((a, b) => a - b)) {
      const c = ctx.idx.commit(i);
      const v = await approvedVersionIn(await loadRepository(ctx.idx.source(i, ['policies'])), path, ctx.opts.repository, ctx.trust.approvals, c.time, `commit ${c.oid.slice(0, 12)}`);
      if (v) out.push(v);
    }
    return out;
  };
}

/** The first commit in [from, to) at which the policy's bytes have threshold approvals, with that verdict. */
async function approvedWithin(ctx: AuditContext, name: string, digest: string, from: number, to: number): Promise<{ at: number; verdict: PolicyVerdict } | undefined> {
  for (const at of candidates(ctx, name, from, to)) {
    const model = await loadRepository(ctx.idx.source(at, ['policies']));
    const files = model.policyApprovals.filter((a) => a.policy === name);
    // Signatures are judged as of the commit that brought them: a key that expired since still counted then.
    const v = await verifyPolicyApprovals({ name, digest, repository: ctx.opts.repository }, files, ctx.trust.approvals, ctx.idx.commit(at).time);
    if (v.approved) return { at, verdict: v };
  }
  return undefined;
}

/** A POLICY_ROLLBACK finding when the version's approvals are older than another approved version of its file. */
async function rollbackFinding(ctx: AuditContext, path: string, digest: string, approved: { at: number; verdict: PolicyVerdict }): Promise<AuditFinding[]> {
  const judged = checkRollback(path, digest, approved.verdict, await historyPolicyVersions(ctx, approved.at)(path));
  const reason = judged.reasons.find((r) => r.code === 'POLICY_ROLLBACK');
  return reason ? [{ code: 'POLICY_ROLLBACK', commit: ctx.idx.commit(approved.at).oid, file: path, message: reason.message }] : [];
}

/** One finding per policy version that was never approved while it was in force. */
export async function auditPolicies(ctx: AuditContext): Promise<AuditFinding[]> {
  const out: AuditFinding[] = [];
  for (const path of ctx.idx.paths('policies').filter((p) => /^policies\/[^/]+\.yaml$/.test(p))) {
    const name = /^policies\/([^/]+)\.yaml$/.exec(path)![1]!;
    const versions = ctx.idx.versionsOf(path);
    for (const [i, v] of versions.entries()) {
      if (!v.bytes) continue;
      const to = versions[i + 1]?.at ?? ctx.idx.history.chain.length;
      const digest = sha256Digest(v.bytes);
      const approved = await approvedWithin(ctx, name, digest, v.at, to);
      if (approved) {
        out.push(...(await rollbackFinding(ctx, path, digest, approved)));
        continue;
      }
      const commit = ctx.idx.commit(v.at).oid;
      out.push({
        code: 'POLICY_UNAPPROVED',
        commit,
        file: path,
        message: `policy ${name} at ${digest} (commit ${commit.slice(0, 12)}) never had ${ctx.trust.approvals.threshold} valid policy approval(s) while it was in force: it changed without approval`,
      });
    }
  }
  return out;
}
