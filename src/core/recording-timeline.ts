/**
 * What a verified recording says, folded for people: one row per request
 * (time, verb, resource, status, exec argv, the streams decoded to printable
 * text), and the post-incident summary of what was created, changed, deleted
 * and exec'd. Pure: events in, rows out. Every string here came through the
 * gateway from the vendor's side: callers escape it for their medium.
 */
import type { RecordingEvent, ResourceRef } from './recording.js';

/** One stream event, decoded. */
export interface StreamLine {
  time: string;
  direction: 'client' | 'server';
  bytes: number;
  /** Printable text: control bytes other than tab and newline become `.`; cut at `STREAM_PREVIEW` characters. */
  text: string;
}

/** One request as a row of the timeline. */
export interface TimelineRow {
  seq: number;
  time: string;
  id?: string;
  verb: string;
  /** kubectl-like: `pods/api-0 -n payments`, `deployments.apps -n web`, or the path of a non-resource URL. */
  target: string;
  resource?: ResourceRef;
  /** `200`, `DENIED (rule)`, `REFUSED (reason)`, or `—` while there was no response. */
  status: string;
  code?: number;
  bytes?: number;
  argv?: string[];
  streams: StreamLine[];
  bytesIn?: number;
  bytesOut?: number;
}

export const STREAM_PREVIEW = 400;

/** kubectl's way of naming a resource: `resource[.group][/name][/subresource] [-n namespace]`. */
export function describeTarget(r: ResourceRef | undefined, path: string): string {
  if (!r) return path;
  let s = r.group ? `${r.resource}.${r.group}` : r.resource;
  if (r.name) s += `/${r.name}`;
  if (r.subresource) s += `/${r.subresource}`;
  return r.namespace ? `${s} -n ${r.namespace}` : s;
}

/** Bytes as printable text: what a person can read of an exec or a log stream. */
export function printable(data: Uint8Array, limit = STREAM_PREVIEW): string {
  const text = Buffer.from(data)
    .toString('utf8')
    .replace(/[^\P{C}\t\n]/gu, '.');
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length - limit} more characters)` : text;
}

/** Folds events into rows, in the order the requests arrived. */
export function timelineRows(events: readonly RecordingEvent[]): TimelineRow[] {
  const rows: TimelineRow[] = [];
  const byId = new Map<string, TimelineRow>();
  for (const e of events) {
    if (e.type === 'request') {
      const row: TimelineRow = { seq: e.seq, time: e.time, id: e.id, verb: e.verb, target: describeTarget(e.resource, e.path), resource: e.resource, status: '—', argv: e.argv, streams: [] };
      rows.push(row);
      byId.set(e.id, row);
    } else if (e.type === 'refused') {
      rows.push({ seq: e.seq, time: e.time, verb: e.method ?? '—', target: e.path ?? '—', status: `REFUSED (${e.reason})`, streams: [] });
    } else {
      const row = byId.get(e.id);
      if (!row) continue;
      if (e.type === 'response') Object.assign(row, { status: String(e.status), code: e.status, bytes: e.bytes });
      else if (e.type === 'denied') row.status = `DENIED (${e.rule})`;
      else if (e.type === 'close') Object.assign(row, { bytesIn: e.bytesIn, bytesOut: e.bytesOut });
      else {
        const data = Buffer.from(e.data, 'base64');
        row.streams.push({ time: e.time, direction: e.direction, bytes: data.length, text: printable(data) });
      }
    }
  }
  return rows;
}

/** What a session did, as the post-incident review lists it. */
export interface ActivitySummary {
  created: TimelineRow[];
  changed: TimelineRow[];
  deleted: TimelineRow[];
  execd: TimelineRow[];
  denied: TimelineRow[];
  refused: TimelineRow[];
  /** get, list, watch and anything else that changes nothing. */
  reads: number;
}

const EXEC_LIKE = new Set(['exec', 'attach', 'portforward']);
const succeeded = (r: TimelineRow) => r.code !== undefined && r.code < 400;

/**
 * Sorts the rows into what the review asks: created, changed, deleted,
 * exec'd. A write that failed (status 400 or more) changed nothing and is
 * listed under neither; a denied or refused request is listed on its own.
 */
export function summarizeActivity(rows: readonly TimelineRow[]): ActivitySummary {
  const out: ActivitySummary = { created: [], changed: [], deleted: [], execd: [], denied: [], refused: [], reads: 0 };
  for (const r of rows) {
    if (r.status.startsWith('DENIED')) out.denied.push(r);
    else if (r.status.startsWith('REFUSED')) out.refused.push(r);
    else if (r.resource?.subresource && EXEC_LIKE.has(r.resource.subresource)) out.execd.push(r);
    else if (!succeeded(r)) continue;
    else if (r.verb === 'create') out.created.push(r);
    else if (r.verb === 'update' || r.verb === 'patch') out.changed.push(r);
    else if (r.verb === 'delete' || r.verb === 'deletecollection') out.deleted.push(r);
    else out.reads++;
  }
  return out;
}
