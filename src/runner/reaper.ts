/**
 * The reaper, every loop: deletes any object labelled as this runner's
 * whose session has no open marker (an orphan of a crash), or whose expiry
 * annotation is past by more than a grace period (a teardown that keeps
 * failing). Objects are listed BEFORE markers: an object is only ever created
 * after its marker, so a marker created concurrently is always seen.
 */
import { parseTime } from '../core/duration.js';
import { EXPIRES_ANNOTATION, SESSION_LABEL, ownedSelector } from '../core/plan.js';
import type { RunnerDeps, Target } from './context.js';

/** Past expiry by this much, an object is removed even if its session still looks open. */
const EXPIRED_GRACE_MS = 5 * 60 * 1000;

export async function reap(d: RunnerDeps, t: Target): Promise<number> {
  const owned = await t.kube.listOwned(t.namespace, ownedSelector(t.namespace));
  if (owned.length === 0) return 0;
  const open = new Set((await t.markers.listOpen()).map((m) => m.state.session));
  const now = d.now();
  let removed = 0;
  for (const o of owned) {
    const session = o.labels[SESSION_LABEL];
    const expires = parseTime(o.annotations[EXPIRES_ANNOTATION] ?? '');
    const orphan = !session || !open.has(session);
    const overdue = expires === undefined || expires + EXPIRED_GRACE_MS < now;
    if (!orphan && !overdue) continue;
    if (await t.kube.delete(o)) {
      removed++;
      d.log(`reaper: deleted ${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name} (${orphan ? 'no open session' : 'expired'})`);
    }
  }
  return removed;
}
