/**
 * Reading back JSON the runner itself stored (markers, claims, loop.json):
 * parsed and checked against its schema in one step, never cast, so every
 * reader reports a stored value that is not what it wrote the same way.
 */
import type { z } from 'zod';
import { messageOf } from '../crypto/error-parts.js';

/** The value, or why `raw` is not one: `is not JSON (…)`, or each schema issue as `path: message`. */
export type JsonRead<T> = { ok: true; value: T } | { ok: false; notJson: boolean; why: string };

export function readJson<S extends z.ZodType>(schema: S, raw: string): JsonRead<z.output<S>> {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (e) {
    return { ok: false, notJson: true, why: `is not JSON (${messageOf(e)})` };
  }
  const r = schema.safeParse(doc);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, notJson: false, why: r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ') };
}
