/**
 * Durations are written `30s`, `15m`, `2h`, `1h30m` (units in descending
 * order, each at most once). Anything else is rejected, so `1.5h`, `90`, `1d`
 * and `-1h` never silently mean something else.
 *
 * Documents keep durations and times as written (they are digested, signed and
 * shown); code reads their values once, with `durationSeconds` and `timeMs`,
 * after the schema accepted them.
 */
import { BreakglassError } from './errors.js';

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

export const DURATION_HINT = 'a duration such as 30s, 15m, 2h or 1h30m';

/** Parses a duration into whole seconds, or returns undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0 || text.length > 32) return undefined;
  const m = DURATION.exec(text);
  if (!m || (!m[1] && !m[2] && !m[3])) return undefined;
  const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : undefined;
}

/**
 * The seconds of a duration a schema has already accepted (schemas.ts
 * `Duration`). One that was not is a bug, never "no limit": DURATION_INVALID.
 */
export function durationSeconds(text: string): number {
  const s = parseDuration(text);
  if (s === undefined) throw new BreakglassError('DURATION_INVALID', `${JSON.stringify(text)} is not ${DURATION_HINT}`);
  return s;
}

/** Formats whole seconds the way they are written in files: 5400 -> `1h30m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${r ? `${r}s` : ''}`;
  return out || '0s';
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/** Parses an RFC 3339 UTC timestamp (`Z` suffix required) to epoch ms. */
export function parseTime(text: string): number | undefined {
  if (!RFC3339_UTC.test(text)) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse accepts 2026-02-31 by rolling over; reject that.
  if (new Date(ms).toISOString().slice(0, 19) !== text.slice(0, 19)) return undefined;
  return ms;
}

/** The epoch ms of a time a schema has already accepted (schemas.ts `Time`); TIME_INVALID otherwise. */
export function timeMs(text: string): number {
  const ms = parseTime(text);
  if (ms === undefined) throw new BreakglassError('TIME_INVALID', `${JSON.stringify(text)} is not an RFC 3339 UTC time such as 2026-11-21T02:17:00Z`);
  return ms;
}

/** Formats epoch ms as RFC 3339 UTC without fractional seconds. */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
