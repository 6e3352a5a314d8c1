/**
 * The reaper, every loop: deletes any object labelled as this runner's
 * whose session has no open marker (an orphan of a crash), or whose expiry
 * annotation is past by more than a grace period (a teardown that keeps
 * failing). That covers the credential's ServiceAccounts and bindings and the
 * network providers' Deployments and Secrets (runner namespace) and
 * NetworkPolicies (any namespace). Objects are listed BEFORE markers: an
 * object is only ever created after its marker, so a marker created
 * concurrently is always seen.
 */
import { parseTime } from '../core/duration.js';
import { EXPIRES_ANNOTATION, SESSION_LABEL, ownedSelector } from '../core/plan.js';
import type { RunnerDeps, Target } from './context.js';
import { deleteObject, listKind, PROVIDER_KINDS } from './owned.js';

/** Past expiry by this much, an object is removed even if its session still looks open. */
const EXPIRED_GRACE_MS = 5 * 60 * 1000;

/** One labelled object, whichever API it came from, and how to delete it. */
interface Candidate {
  what: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  remove(): Promise<boolean>;
}

async function candidates(d: RunnerDeps, t: Target): Promise<Candidate[]> {
  const kube = (await t.kube.listOwned(t.namespace, ownedSelector(t.namespace))).map((o) => ({
    what: `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`,
    labels: o.labels,
    annotations: o.annotations,
    remove: () => t.kube.delete(o),
  }));
  const raw: Candidate[] = [];
  for (const kind of PROVIDER_KINDS) {
    // One kind the runner may not list (RBAC not yet updated) must not stop the sweep of the others.
    const listed = await listKind(t.raw, kind, t.namespace).catch((e: Error) => (d.log(`reaper: cannot list ${kind}: ${e.message}`), []));
    for (const o of listed) {
      raw.push({ what: `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`, labels: o.metadata.labels ?? {}, annotations: o.metadata.annotations ?? {}, remove: () => deleteObject(t.raw, o) });
    }
  }
  return [...kube, ...raw];
}

export async function reap(d: RunnerDeps, t: Target): Promise<number> {
  const owned = await candidates(d, t);
  if (owned.length === 0) return 0;
  const listed = await t.markers.listOpen();
  // A session whose marker cannot be read may be open: its objects are never orphans, only overdue past their expiry annotation.
  const open = new Set([...listed.markers.map((m) => m.state.session), ...listed.unreadable.map((u) => u.session)]);
  const now = d.now();
  let removed = 0;
  for (const o of owned) {
    const session = o.labels[SESSION_LABEL];
    const expires = parseTime(o.annotations[EXPIRES_ANNOTATION] ?? '');
    const orphan = !session || !open.has(session);
    const overdue = expires === undefined || expires + EXPIRED_GRACE_MS < now;
    if (!orphan && !overdue) continue;
    if (await o.remove()) {
      removed++;
      d.log(`reaper: deleted ${o.what} (${orphan ? 'no open session' : 'expired'})`);
    }
  }
  return removed;
}
