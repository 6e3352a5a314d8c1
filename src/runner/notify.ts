/**
 * The runner's notifications (issue 13): at-least-once, never in the way.
 *
 * An event is first written to an outbox in the state directory (one small
 * file per event and channel, holding only the message's facts — never a
 * channel secret, which is read from the environment at send time, and never
 * a credential, which no message has a field for). Sending happens after the
 * loop's records step, in the background: activation, teardown and records
 * never wait on a channel. Each attempt has a hard timeout; a failure is
 * logged (no secret) and retried in a later loop with backoff, until it is
 * delivered or has used its bounded number of rounds.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deliver, type SendOptions } from '../adapters/notify-send.js';
import { durationSeconds, formatTime, parseTime } from '../core/duration.js';
import { type NotifyEventType, type ResolvedChannel, wants } from '../core/notify-config.js';
import type { EventDetail, NotifyEvent, SessionFacts } from '../core/notify-message.js';
import { failureCode } from './failure-code.js';
import type { MarkerState } from './marker.js';

/** One queued delivery: an event for one channel. */
interface OutboxEntry {
  id: string;
  channel: string;
  event: NotifyEvent;
  /** Rounds tried so far (each round makes up to two requests). */
  rounds: number;
  /** Not before this time (epoch ms): the backoff between rounds. */
  notBefore: number;
  queued: number;
}

/** What the runner remembers per open session: the facts every message repeats, and which channels heard `expiring`. */
interface SessionMemory {
  facts: SessionFacts;
  expiring: string[];
  /** `activated` was queued; a runner killed between marking the session active and queueing it queues it on the next loop. */
  activated?: boolean;
}

export interface NotifierOptions {
  stateDir: string;
  channels: ResolvedChannel[];
  now(): number;
  log(line: string): void;
  /** Per attempt. */
  timeoutMs: number;
  /** First backoff between rounds; doubled each round, capped at 15 minutes. */
  backoffMs: number;
  /** Rounds before an entry is given up (logged as NOTIFY_GIVEN_UP). */
  maxRounds: number;
  fetch?: SendOptions['fetch'];
}

async function writeJson(dir: string, name: string, value: unknown): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
  await rename(tmp, join(dir, name));
}

const readJson = async <T>(file: string): Promise<T | undefined> => JSON.parse(await readFile(file, 'utf8').catch(() => 'null')) ?? undefined;

export class Notifier {
  private readonly o: NotifierOptions;
  private readonly running = new Map<string, Promise<void>>();
  private readonly outbox: string;
  private readonly sessions: string;

  constructor(o: NotifierOptions) {
    this.o = o;
    this.outbox = join(o.stateDir, 'notify', 'outbox');
    this.sessions = join(o.stateDir, 'notify', 'sessions');
  }

  /** Remembers a session's facts at activation, for the messages of its later events. */
  async remember(facts: SessionFacts): Promise<void> {
    await this.guard(`remember ${facts.session}`, () => writeJson(this.sessions, `${facts.session}.json`, { facts, expiring: [] } satisfies SessionMemory));
  }

  /**
   * Queues `type` for every channel that takes it (or only `only`). Never
   * throws: a full disk loses a notification, never a teardown.
   */
  async emit(type: NotifyEventType, session: string, detail: EventDetail, o: { only?: readonly string[]; fallback?: Partial<SessionFacts> } = {}): Promise<void> {
    const { only } = o;
    await this.guard(`queue ${type} ${session}`, async () => {
      const memory = await readJson<SessionMemory>(join(this.sessions, `${session}.json`));
      const facts = memory?.facts ?? unknownFacts(session, o.fallback);
      const event: NotifyEvent = { type, at: formatTime(this.o.now()), session: facts, detail };
      const now = this.o.now();
      for (const ch of this.o.channels.filter((c) => wants(c, type) && (!only || only.includes(c.name)))) {
        const id = randomUUID();
        await writeJson(this.outbox, `${now}-${id}.json`, { id, channel: ch.name, event, rounds: 0, notBefore: 0, queued: now } satisfies OutboxEntry);
      }
    });
  }

  /** Forgets a session that has ended or failed (after its last events are queued). */
  async forget(session: string): Promise<void> {
    await rm(join(this.sessions, `${session}.json`), { force: true });
  }

  /** Queues `activated` and remembers that it did (see `checkActive`). */
  async activated(session: string, expires: string): Promise<void> {
    await this.emit('activated', session, { expires });
    const file = join(this.sessions, `${session}.json`);
    const memory = await readJson<SessionMemory>(file);
    if (memory) await this.guard(`remember activated ${session}`, () => writeJson(this.sessions, `${session}.json`, { ...memory, activated: true }));
  }

  /**
   * For an active session, each loop: `activated` if a crash lost it, and
   * `expiring` once per channel when the session is within that channel's
   * `expiringBefore` of its expiry.
   */
  async checkActive(session: string, expires: string | undefined, fallback?: Partial<SessionFacts>): Promise<void> {
    const at = expires === undefined ? undefined : parseTime(expires);
    if (expires === undefined || at === undefined) return;
    const file = join(this.sessions, `${session}.json`);
    const remembered = await readJson<SessionMemory>(file);
    if (remembered && !remembered.activated) await this.activated(session, expires);
    const memory = (await readJson<SessionMemory>(file)) ?? { facts: unknownFacts(session, fallback), expiring: [] };
    const due = this.o.channels.filter((c) => wants(c, 'expiring') && !memory.expiring.includes(c.name) && this.o.now() >= at - durationSeconds(c.expiringBefore) * 1000);
    if (!due.length) return;
    // Remembered before queueing: at worst a crash between the two loses one `expiring`, never sends it every loop.
    await this.guard(`remember expiring ${session}`, () => writeJson(this.sessions, `${session}.json`, { ...memory, expiring: [...memory.expiring, ...due.map((c) => c.name)] }));
    await this.emit('expiring', session, { expires }, { only: due.map((c) => c.name), fallback });
  }

  /**
   * Starts a round of sending in the background for every channel not still
   * busy with its last round: one channel that hangs holds up only itself.
   */
  kick(): void {
    for (const ch of this.o.channels) {
      if (this.running.has(ch.name)) continue;
      const round = this.flushChannel(ch.name)
        .catch((e: unknown) => this.o.log(`notify ${ch.name}: round failed: ${failureCode(e, 'notify')}`))
        .finally(() => this.running.delete(ch.name));
      this.running.set(ch.name, round);
    }
  }

  /** Waits for the rounds in progress (bounded: every attempt has a timeout). */
  async idle(): Promise<void> {
    await Promise.all(this.running.values());
  }

  /** This channel's queued entries, oldest first; entries naming a channel no longer configured are dropped. */
  private async entries(name: string): Promise<[string, OutboxEntry][]> {
    const names = (await readdir(this.outbox).catch((): string[] => [])).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    const out: [string, OutboxEntry][] = [];
    for (const n of names) {
      const e = await readJson<OutboxEntry>(join(this.outbox, n));
      if (!e) continue;
      if (!this.o.channels.some((c) => c.name === e.channel)) {
        this.o.log(`notify ${e.channel}: ${e.event.type} ${e.event.session.session} (delivery ${e.id}): NOTIFY_CHANNEL_UNKNOWN: no such channel in this runner's config any more; dropped`);
        await rm(join(this.outbox, n), { force: true });
      } else if (e.channel === name) out.push([n, e]);
    }
    return out;
  }

  private async flushChannel(name: string): Promise<void> {
    const ch = this.o.channels.find((c) => c.name === name)!;
    for (const [file, e] of await this.entries(name)) {
      const path = join(this.outbox, file);
      const what = `notify ${name}: ${e.event.type} ${e.event.session.session} (delivery ${e.id})`;
      // In order: an entry still backing off holds the ones queued after it for this channel.
      if (this.o.now() < e.notBefore) break;
      const { result, tries } = await deliver(ch, e.event, e.id, { timeoutMs: this.o.timeoutMs, fetch: this.o.fetch }, { attempts: 2, baseMs: 250, maxWaitMs: 10_000 });
      if (result.ok) {
        await rm(path, { force: true });
        this.o.log(`${what}: delivered${tries > 1 ? ` after ${tries} attempts` : ''}`);
        continue;
      }
      const rounds = e.rounds + 1;
      if (!result.retryable || rounds >= this.o.maxRounds) {
        await rm(path, { force: true });
        this.o.log(`${what}: ${result.code}: ${result.detail}; NOTIFY_GIVEN_UP after ${rounds} round(s)`);
        continue;
      }
      const wait = Math.max(result.retryAfterMs ?? 0, Math.min(this.o.backoffMs * 2 ** (rounds - 1), 15 * 60_000));
      await this.guard(what, () => writeJson(this.outbox, file, { ...e, rounds, notBefore: this.o.now() + wait } satisfies OutboxEntry));
      this.o.log(`${what}: ${result.code}: ${result.detail}; kept in the outbox, retried in a later loop`);
      // The service is down or throttling: the rest of this channel's queue waits for a later round, each not costing a timeout now.
      break;
    }
  }

  private async guard(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.o.log(`notify: ${what} failed: ${failureCode(e, 'notify')}; the session goes on`);
    }
  }
}

/** When the runner's memory of a session is gone (a wiped state directory): what the marker alone says. */
function unknownFacts(session: string, known: Partial<SessionFacts> = {}): SessionFacts {
  const u = '(not remembered by this runner)';
  return { session, resource: u, privilege: u, duration: u, requester: u, reason: u, approvals: { have: 0, need: 0 }, repository: u, link: '', approveCommand: '', ...known };
}

/** What the marker says about a session, for messages when the runner's memory of it is gone. */
export function markerFacts(s: MarkerState): Partial<SessionFacts> {
  return { resource: s.resource, repository: s.repository, link: `https://${s.repository}/commit/${s.commit}`, approvals: { have: s.approvals.length, need: 0 } };
}
