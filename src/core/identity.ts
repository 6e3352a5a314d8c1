/**
 * Identities (requesters, approver names and e-mails, session and policy ids)
 * are compared by machines but read by people. Two rules keep the two views
 * the same:
 *
 * 1. At validation, an identity may hold only plain, visible ASCII. Invisible
 *    characters (zero-width space, bidirectional controls, soft hyphen, tag
 *    characters, other format and control characters) make two different
 *    strings look identical; non-ASCII letters (Cyrillic "а", Greek "ο",
 *    fullwidth "ａ") look like ASCII ones. Both are refused with their own code.
 * 2. Wherever two identities are compared (self-approval, requester patterns),
 *    their canonical forms are: NFKC, lower case, no default-ignorable
 *    characters, and no `+tag` in an e-mail's local part (plus-addressing
 *    delivers `alice+x@d` to `alice@d`, so it is the same person).
 *
 * Rule 2 also covers identities that never pass the schema (e-mails in
 * OpenPGP user ids, keyless subjects): they are folded the same way.
 */
import { z } from 'zod';

/** A problem that makes a value unusable as an identity, with its finding code. */
export interface IdentityProblem {
  code: 'IDENTITY_INVISIBLE_CHAR' | 'IDENTITY_CONFUSABLE_CHAR';
  message: string;
}

// Format (Cf) and control (Cc) characters, line/paragraph separators, anything
// Unicode says renderers may ignore, and whitespace other than a plain space.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]|[^\S ]/u;
const NON_ASCII = /[^\u0020-\u007e]/u;
const IGNORABLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
const SCRIPTS = ['Cyrillic', 'Greek', 'Armenian', 'Cherokee', 'Latin', 'Han', 'Arabic', 'Hebrew'] as const;

function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The value with every non-ASCII or invisible character written as \u{...}, so a message shows what is there. */
export function escapeIdentity(value: string): string {
  return [...value].map((c) => (NON_ASCII.test(c) ? `\\u{${c.codePointAt(0)!.toString(16)}}` : c)).join('');
}

function scriptOf(c: string): string {
  const name = SCRIPTS.find((s) => new RegExp(`\\p{Script=${s}}`, 'u').test(c));
  if (name === 'Latin') return 'a non-ASCII Latin character';
  return name ? `a ${name} character` : 'a non-ASCII character';
}

/** Says why `value` cannot be an identity, or undefined when it is plain visible ASCII. */
export function identityProblem(value: string): IdentityProblem | undefined {
  const invisible = INVISIBLE.exec(value);
  if (invisible) {
    return {
      code: 'IDENTITY_INVISIBLE_CHAR',
      message: `"${escapeIdentity(value)}" contains the invisible character ${codePoint(invisible[0])} at position ${invisible.index + 1}, which makes it look like an identity it is not; write it in plain ASCII`,
    };
  }
  const other = NON_ASCII.exec(value);
  if (other) {
    return {
      code: 'IDENTITY_CONFUSABLE_CHAR',
      message: `"${escapeIdentity(value)}" contains ${codePoint(other[0])}, ${scriptOf(other[0])} that can look like an ASCII letter; identities must be ASCII${value.includes('@') ? ' (write an internationalised domain in its xn-- form)' : ''}`,
    };
  }
  return undefined;
}

/** Says why `value` cannot be shown as a name (invisible characters only; other scripts are fine). */
export function invisibleProblem(value: string): IdentityProblem | undefined {
  const p = identityProblem(value);
  return p?.code === 'IDENTITY_INVISIBLE_CHAR' ? p : undefined;
}

function asCheck(problem: (v: string) => IdentityProblem | undefined) {
  // `continue: false` stops the field's later checks (its pattern), so the
  // finding names the precise problem rather than "not a valid e-mail".
  return z.superRefine<string>((value, ctx) => {
    const p = problem(value);
    if (p) ctx.addIssue({ code: 'custom', message: p.message, params: { code: p.code }, continue: false });
  });
}

/** A zod check refusing invisible and non-ASCII characters (IDENTITY_INVISIBLE_CHAR, IDENTITY_CONFUSABLE_CHAR). */
export const plainIdentity = asCheck(identityProblem);
/** A zod check refusing invisible characters only (IDENTITY_INVISIBLE_CHAR), for free-form names shown to people. */
export const visibleText = asCheck(invisibleProblem);

/**
 * The form two identities are compared in: NFKC, lower case, default-ignorable
 * characters removed, and an e-mail's `+tag` dropped from its local part.
 */
export function canonicalIdentity(value: string): string {
  const folded = value.normalize('NFKC').replace(IGNORABLE, '').toLowerCase().trim();
  const at = folded.lastIndexOf('@');
  if (at <= 0) return folded;
  const local = folded.slice(0, at);
  const plus = local.indexOf('+');
  return plus > 0 ? `${local.slice(0, plus)}${folded.slice(at)}` : folded;
}

/** Whether two identities are the same person's, compared in canonical form. */
export function sameIdentity(a: string, b: string): boolean {
  return canonicalIdentity(a) === canonicalIdentity(b);
}
