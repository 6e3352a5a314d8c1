/**
 * The runner's own judgement of a Kubernetes privilege, just before a session
 * would be activated (nothing is created yet; a refusal leaves it pending):
 *  1. never in a protected namespace: the built-in ones, every namespace this
 *     runner keeps session objects and markers in, the runner config's and the
 *     governing policy's `protectedNamespaces` (PRIVILEGE_PROTECTED_NAMESPACE);
 *  2. a cluster-wide role other than cluster-admin reaches the runner's own
 *     namespace too, so its actual rules (aggregated roles included) are read
 *     from the API server and refused if they escalate (PRIVILEGE_ESCALATES);
 *     a role that cannot be read is not guessed at (PRIVILEGE_UNVERIFIABLE,
 *     thrown, so the session is retried next loop and nothing is created).
 */
import type { V1ClusterRole } from '@kubernetes/client-node';
import { BreakglassError } from '../core/errors.js';
import { parseKubePrivilege, protectedNamespaceOf } from '../core/privilege.js';
import { escalations, type RbacRule } from '../core/rbac-escalation.js';
import type { Policy } from '../core/schemas.js';
import type { RunnerDeps, Target } from './context.js';
import type { SessionProblem } from './repo.js';
import { messageOf } from '../crypto/error-parts.js';

/** Namespaces this runner protects: every target's namespace and its config's list (the built-ins are added by protectedNamespaceOf). */
export function runnerProtected(d: Pick<RunnerDeps, 'targets' | 'config'>, policy?: Policy): string[] {
  return [...new Set([...[...d.targets.values()].map((t) => t.namespace), ...(d.config.protectedNamespaces ?? []), ...(policy?.spec.protectedNamespaces ?? [])])];
}

/** The rules of a ClusterRole and of every ClusterRole its aggregation selects (transitively). */
async function effectiveRules(t: Target, name: string): Promise<RbacRule[]> {
  const rules: RbacRule[] = [];
  const seen = new Set<string>();
  const visit = async (role: V1ClusterRole): Promise<void> => {
    const roleName = role.metadata?.name ?? '';
    if (seen.has(roleName)) return;
    seen.add(roleName);
    rules.push(...(role.rules ?? []));
    for (const sel of role.aggregationRule?.clusterRoleSelectors ?? []) {
      const labelSelector = Object.entries(sel.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      if (sel.matchExpressions?.length || !labelSelector) throw new Error(`ClusterRole ${roleName} aggregates with a selector the runner does not evaluate`);
      const listed = await t.kube.call(`list ClusterRoles ${labelSelector}`, () => t.kube.rbac.listClusterRole({ labelSelector }));
      for (const r of listed.items) await visit(r);
    }
  };
  const role = await t.kube.call(`read ClusterRole ${name}`, () => t.kube.rbac.readClusterRole({ name }), true);
  if (!role) throw new Error(`ClusterRole ${name} does not exist`);
  await visit(role);
  return rules;
}

/** Why this runner refuses `privilege` on target `t`, or undefined; throws PRIVILEGE_UNVERIFIABLE when the role cannot be read. */
export async function privilegeRefusal(d: RunnerDeps, t: Target, privilege: string, policy: Policy): Promise<SessionProblem | undefined> {
  const p = parseKubePrivilege(privilege);
  if (!p) return undefined;
  const ns = protectedNamespaceOf(privilege, runnerProtected(d, policy));
  if (ns)
    return {
      code: 'PRIVILEGE_PROTECTED_NAMESPACE',
      message: `privilege ${privilege} is in namespace ${ns}, which this runner protects (its own namespaces, the cluster's, and those configured); a session there could keep the runner's power after teardown`,
    };
  // A namespace grant reaches only its namespace, which is not protected; cluster-admin is judged as what it says it is.
  if (p.scope === 'namespace' || p.clusterRole === 'cluster-admin') return undefined;
  let rules: RbacRule[];
  try {
    rules = await effectiveRules(t, p.clusterRole);
  } catch (e) {
    throw new BreakglassError(
      'PRIVILEGE_UNVERIFIABLE',
      `cannot read what ClusterRole ${p.clusterRole} grants (${messageOf(e)}); the session waits until it can be judged (the runner needs get and list on clusterroles)`,
      { cause: e },
    );
  }
  const found = escalations(rules);
  if (found.length === 0) return undefined;
  return {
    code: 'PRIVILEGE_ESCALATES',
    message: `ClusterRole ${p.clusterRole}, granted in every namespace (the runner's own among them), lets a session ${found.join('; ')}: it could outlive the session. Grant it in one namespace (admin:<ns>, edit:<ns>), or cluster-admin if that is really meant`,
  };
}
