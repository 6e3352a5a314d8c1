/**
 * Watching an open path: every loop, each active session's network provider
 * says whether the path still carries traffic (router ready, device online,
 * routes still enabled; connector ALIVE). A change is written to the marker
 * as an event — down with its specific code, or restored — logged, and
 * carried into the signed record. The session is not ended for it: a router
 * that restarts keeps its state and comes back; the record says how long the
 * path was down. A provider API that cannot be reached says nothing either
 * way: it is logged, and no event is invented.
 */
import { formatTime } from '../core/duration.js';
import type { RunnerDeps, Target } from './context.js';
import type { Marker, PathEvent } from './marker.js';
import { networkProvider } from './providers/index.js';
import { providerSetup } from './teardown.js';
import { messageOf } from '../crypto/error-parts.js';

/** The marker keeps the last events only: enough for the record, bounded for the ConfigMap. */
const MAX_EVENTS = 20;

/** The event the path's current state calls for, or undefined when nothing changed. */
export function pathChange(last: PathEvent | undefined, problem: { code: string; message: string } | undefined, at: string): PathEvent | undefined {
  if (problem) return last?.state === 'down' && last.code === problem.code ? undefined : { state: 'down', code: problem.code, message: problem.message, at };
  return last?.state === 'down' ? { state: 'up', code: 'NETWORK_PATH_RESTORED', message: 'the path carries traffic again', at } : undefined;
}

/** Checks one active session's path and records a change. Never throws: watching must not stop the loop. */
export async function watchPath(d: RunnerDeps, t: Target, m: Marker): Promise<void> {
  const s = m.state;
  // Resources may share a namespace, so each target lists every marker there: only the session's own resource judges its path.
  if (s.phase !== 'active' || s.resource !== t.resource) return;
  try {
    const provider = await networkProvider(s.network, providerSetup(d, t));
    if (!provider.health) return;
    const problem = await provider.health(s.session, s.objects);
    const event = pathChange(s.path?.at(-1), problem, formatTime(d.now()));
    if (!event) return;
    await t.markers.update(m, { ...s, path: [...(s.path ?? []), event].slice(-MAX_EVENTS) });
    d.log(`session ${s.session}: network path ${event.state === 'down' ? 'down' : 'restored'}: ${event.code}: ${event.message}`);
  } catch (e) {
    // A conflict means another writer (a teardown) got there first; an API error is not evidence of a dead path.
    d.log(`session ${s.session}: network path not checked: ${messageOf(e)}`);
  }
}
