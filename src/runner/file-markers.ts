/**
 * Markers and claims as files in the runner's state directory, for a runner
 * outside a cluster (or a resource that names none: command credentials).
 * The same promise as the ConfigMap markers: created before anything is
 * minted, never deleted, "once" across restarts and across runners sharing
 * the directory.
 *
 * How: every version of a marker is its own file, `<id>.v<n>.json`, and every
 * write is an exclusive create. The bytes go to a private temporary file
 * (O_EXCL), are fsynced, then hard-linked to the version's name — link(2)
 * fails with EEXIST when the name exists, atomically, where rename(2) would
 * silently replace it — and the directory is fsynced. So:
 *  - create is version 1: whoever links it first owns the session;
 *  - update from version n links version n+1: a compare-and-swap, a second
 *    writer from n gets KUBE_CONFLICT exactly as with a ConfigMap;
 *  - a crash leaves either no version or a complete one (never a torn file),
 *    plus at most a stray temporary file.
 * Old versions stay: they are the marker's history, like the records.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BreakglassError } from '../core/errors.js';
import { claimRefusal, parseClaim, type Claim, type Claims } from './claims.js';
import { OPEN_PHASES, parseMarkerState, sortRead, type Marker, type Markers, type MarkerState, type OpenMarkers } from './marker.js';
import type { StateLocation } from '../core/plan-objects.js';
import { codeOf, messageOf } from '../crypto/error-parts.js';

const OPEN = new Set<string>(OPEN_PHASES);
const VERSION = /^([a-z0-9][a-z0-9-]{0,62})\.v(\d{6})\.json$/;

/** Writes `bytes` to `dir/name` only if no such file exists; false when it does. Durable before it returns true. */
export async function createExclusive(dir: string, name: string, bytes: Uint8Array): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, join(dir, name));
  } catch (e) {
    if (codeOf(e) === 'EEXIST') return false;
    throw new BreakglassError('MARKER_WRITE_FAILED', `cannot write ${join(dir, name)}: ${messageOf(e)}`, { cause: e });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const d = await open(dir, constants.O_RDONLY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return true;
}

const versionName = (session: string, n: number) => `${session}.v${String(n).padStart(6, '0')}.json`;

/** Markers of one resource in `<state>/markers/<resource>/`. */
export class FileMarkerStore implements Markers {
  readonly dir: string;
  readonly location: StateLocation;
  constructor(dir: string) {
    this.dir = dir;
    this.location = { kind: 'File', directory: dir };
  }

  private async write(state: MarkerState, n: number): Promise<Marker | undefined> {
    const ok = await createExclusive(this.dir, versionName(state.session, n), Buffer.from(JSON.stringify(state)));
    return ok ? { state, resourceVersion: String(n) } : undefined;
  }

  private async versions(): Promise<Map<string, number>> {
    const latest = new Map<string, number>();
    for (const f of await readdir(this.dir).catch((): string[] => [])) {
      const [, session, n] = VERSION.exec(f) ?? [];
      if (session && n) latest.set(session, Math.max(latest.get(session) ?? 0, Number(n)));
    }
    return latest;
  }

  /** The latest version of a session's marker, validated: MARKER_INVALID when it cannot be read as one. */
  private async read(session: string, n: number): Promise<Marker> {
    const file = join(this.dir, versionName(session, n));
    let raw: string;
    try {
      raw = await readFile(file, 'utf8');
    } catch (e) {
      throw new BreakglassError('MARKER_INVALID', `MARKER_INVALID: marker of session ${session} (file ${file}) cannot be read: ${messageOf(e)}`, { cause: e });
    }
    return { state: parseMarkerState(raw, session, `file ${file}`), resourceVersion: String(n) };
  }

  create(state: MarkerState): Promise<Marker | undefined> {
    return this.write(state, 1);
  }

  async get(session: string): Promise<Marker | undefined> {
    const n = (await this.versions()).get(session);
    return n ? this.read(session, n) : undefined;
  }

  async update(marker: Marker, state: MarkerState): Promise<Marker> {
    const written = await this.write(state, Number(marker.resourceVersion) + 1);
    if (!written) throw new BreakglassError('KUBE_CONFLICT', `marker ${state.session} was changed by another runner (version ${marker.resourceVersion} is not the latest)`);
    return written;
  }

  /** Every session's latest version is read: one that cannot be is listed as unreadable (its phase is unknown, so it may be open). */
  async listOpen(): Promise<OpenMarkers> {
    const results = [];
    for (const [session, n] of await this.versions()) {
      const r = await this.read(session, n).then(
        (marker) => ({ session, marker }),
        (error: unknown) => ({ session, error }),
      );
      if (!('marker' in r) || OPEN.has(r.marker.state.phase)) results.push(r);
    }
    return sortRead(results);
  }
}

/** The installation's claims in `<state>/claims/`, when no resource keeps its markers in a cluster. */
export class FileClaimStore implements Claims {
  readonly dir: string;
  readonly location: StateLocation;
  constructor(dir: string) {
    this.dir = dir;
    this.location = { kind: 'File', directory: dir };
  }

  async claim(c: Claim): Promise<string | undefined> {
    if (await createExclusive(this.dir, `${c.session}.json`, Buffer.from(JSON.stringify(c)))) return undefined;
    const file = join(this.dir, `${c.session}.json`);
    // A claim that exists but cannot be read (or parsed) refuses: someone claimed the id, nobody can tell for what.
    const existing = await readFile(file, 'utf8')
      .then(parseClaim)
      .catch((e: Error) => e);
    return claimRefusal(c, file, existing);
  }
}
