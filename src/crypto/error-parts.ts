/**
 * Reading a caught value without asserting what it is: a `catch` clause gets
 * `unknown`, and anything may be thrown. Defined in the bottom layer so every
 * layer reads errors the same way.
 */

/** The message of an Error, or the thrown value as text. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The string `code` of an error (ours: KUBE_CONFLICT…; Node's: ENOENT…), if it has one. */
export function codeOf(e: unknown): string | undefined {
  const code: unknown = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  return typeof code === 'string' ? code : undefined;
}
