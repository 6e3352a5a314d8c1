/**
 * Reads one breakglass YAML document from its exact bytes and returns either
 * the typed value or every finding, each at `file:line:col`.
 *
 * The byte-level rules come first because approvals bind a digest of the
 * exact bytes: anything that lets two tools (or two git configurations) see
 * different bytes or different text for the same file is refused — CRLF, a
 * BOM, tabs, control characters, bidirectional overrides, invalid UTF-8.
 * Anchors and aliases are refused outright (no alias bombs, no shared nodes).
 * Then a linear pre-scan (yaml-scan.ts) bounds line length, depth, node and
 * key counts before the parser runs, so reading any file costs time
 * proportional to its size.
 */
import { isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Document, type Node, type YAMLMap } from 'yaml';
import { z } from 'zod';
import type { Finding, Position } from './errors.js';
import { API_VERSION, describeField, SCHEMAS, type DocumentOf, type Kind } from './schemas.js';
import { scanYaml } from './yaml-scan.js';

/** Larger files are refused before parsing; real documents are a few KiB. */
export const MAX_DOCUMENT_BYTES = 256 * 1024;

/** Maps a path in the document (`['spec', 'privilege']`) to where it is written. */
export type Locate = (path: readonly PropertyKey[]) => Position;

/** On a schema failure `locate` is still given (the YAML parsed), so a caller can place further findings. */
export type Loaded<T> = { ok: true; value: T; findings: Finding[]; locate: Locate } | { ok: false; findings: Finding[]; locate?: Locate };

interface Located {
  file: string;
  lc: LineCounter;
  text: string;
}

function at(loc: Located, offset: number, code: string, message: string): Finding {
  const { line, col } = loc.lc.linePos(offset);
  return { file: loc.file, line, col, code, message, severity: 'error' };
}

function lineColOfByte(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++, (start = i + 1);
  return { line, col: offset - start + 1 };
}

/** Where the first ill-formed UTF-8 sequence starts, or -1; one pass (RFC 3629 well-formed byte sequences). */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    const d = b[i + 1] ?? 0;
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((c === 0xe0 && d < 0xa0) || (c === 0xed && d > 0x9f) || (c === 0xf0 && d < 0x90) || (c === 0xf4 && d > 0x8f)) return i;
    i += n + 1;
  }
  return -1;
}

/** Byte- and text-level rules; returns the decoded text only when they all pass. */
function checkBytes(file: string, bytes: Uint8Array): { text?: string; findings: Finding[] } {
  const here = (offset: number, code: string, message: string): Finding => ({
    file,
    ...lineColOfByte(bytes, offset),
    code,
    message,
    severity: 'error',
  });
  if (bytes.length > MAX_DOCUMENT_BYTES) {
    return { findings: [here(0, 'FILE_TOO_LARGE', `file is ${bytes.length} bytes; at most ${MAX_DOCUMENT_BYTES} bytes are accepted`)] };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { findings: [here(Math.max(0, firstInvalidUtf8(bytes)), 'FILE_ENCODING', 'file is not valid UTF-8; save it as UTF-8')] };
  }
  const findings: Finding[] = [];
  if (text.charCodeAt(0) === 0xfeff) findings.push(here(0, 'FILE_BOM', 'file starts with a byte-order mark; save it as UTF-8 without BOM'));
  const crlf = text.indexOf('\r');
  if (crlf >= 0) {
    findings.push(here(Buffer.byteLength(text.slice(0, crlf)), 'FILE_CRLF', 'file has CR (\\r) line endings; use LF only (.gitattributes sets eol=lf for YAML)'));
  }
  const tab = text.indexOf('\t');
  if (tab >= 0) findings.push(here(Buffer.byteLength(text.slice(0, tab)), 'FILE_TAB', 'file contains a tab character; indent and separate with spaces'));
  // C0/C1 controls other than LF (CR and TAB reported above) could hide text
  // from a person reading the approval view in a terminal.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this check is for.
  const ctrl = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u.exec(text);
  if (ctrl) {
    const cp = ctrl[0].codePointAt(0)!.toString(16).padStart(4, '0');
    findings.push(here(Buffer.byteLength(text.slice(0, ctrl.index)), 'FILE_CONTROL_CHAR', `file contains control character U+${cp}; remove it`));
  }
  // Bidirectional overrides and isolates reorder what a reviewer sees (Trojan Source).
  const bidi = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u.exec(text);
  if (bidi) {
    const cp = bidi[0].codePointAt(0)!.toString(16).padStart(4, '0');
    findings.push(here(Buffer.byteLength(text.slice(0, bidi.index)), 'FILE_BIDI', `file contains bidirectional control U+${cp}, which can make text display differently from what it says; remove it`));
  }
  return findings.length ? { findings } : { text, findings };
}

/**
 * Duplicate and non-scalar keys, with one set per mapping: linear, unlike the
 * parser's `uniqueKeys`, which compares each key with every earlier one (a
 * 250 KB file of distinct keys took minutes). Keys are compared as the strings
 * they become, so `1:` and `"1":` are the same key, as they are after parsing.
 */
function keyFindings(loc: Located, map: YAMLMap): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const pair of map.items) {
    const key = pair.key;
    const offset = isNode(key) ? (key.range?.[0] ?? 0) : 0;
    if (key !== null && !isScalar(key)) {
      out.push(at(loc, offset, 'YAML_COMPLEX_KEY', 'a list or mapping is used as a key; keys must be plain values'));
      continue;
    }
    const name = String(key?.value ?? null);
    if (seen.has(name)) out.push(at(loc, offset, 'YAML_DUPLICATE_KEY', `key "${name}" appears twice in the same mapping; keep one`));
    seen.add(name);
  }
  return out;
}

function yamlFindings(loc: Located, doc: Document.Parsed): Finding[] {
  const out: Finding[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
    out.push(at(loc, e.pos[0], 'YAML_SYNTAX', first));
  }
  // An alias bomb has thousands of aliases: report the first of each kind and a count.
  const refs: { offset: number; text: string }[] = [];
  visit(doc, {
    Node(_key, node) {
      if (isMap(node)) out.push(...keyFindings(loc, node));
      if (isAlias(node)) refs.push({ offset: node.range?.[0] ?? 0, text: `alias *${node.source}` });
      else if (isNode(node) && node.anchor) refs.push({ offset: node.range?.[0] ?? 0, text: `anchor &${node.anchor}` });
      if (isNode(node) && node.tag && (!node.tag.startsWith('tag:yaml.org,2002:') || /:(binary|set|omap|pairs)$/.test(node.tag))) {
        out.push(at(loc, node.range?.[0] ?? 0, 'YAML_TAG', `tag ${node.tag} is not allowed; write plain values`));
      }
      // Escapes in double-quoted scalars ("\e", "\u202e") make control and bidi
      // characters that the byte check cannot see: check the values too.
      if (isScalar(node) && typeof node.value === 'string') {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this check is for.
        const bad = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u.exec(node.value);
        if (bad) {
          const cp = bad[0].codePointAt(0)!.toString(16).padStart(4, '0');
          out.push(at(loc, node.range?.[0] ?? 0, 'VALUE_CONTROL_CHAR', `value contains control or bidirectional character U+${cp} (written as an escape); remove it`));
        }
      }
    },
  });
  if (refs.length) {
    const first = refs[0]!;
    const more = refs.length > 1 ? ` (and ${refs.length - 1} more anchors/aliases)` : '';
    out.push(at(loc, first.offset, 'YAML_ALIAS', `${first.text} is not allowed; anchors and aliases are refused, write values out in full${more}`));
  }
  return out;
}

/** The YAML node at a schema path, and the closest ancestor that exists. */
function nodeAt(doc: Document.Parsed, path: readonly PropertyKey[]): { node: Node | undefined; found: boolean; keyNode?: Node } {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { node: node as Node, found: false };
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!item) return { node: node as Node, found: false };
      node = item;
      keyNode = undefined;
    } else {
      return { node: (node as Node) ?? undefined, found: false };
    }
  }
  return { node: node as Node, found: true, keyNode };
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const seg of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  return v;
}

/** The schema node for a path, looking through optional/default/union wrappers. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  const unwrap = (x: z.ZodType): z.ZodType => {
    let cur = x;
    for (let i = 0; i < 8; i++) {
      const def = (cur as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } }).def;
      if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType) cur = def.innerType;
      else if (def.type === 'pipe' && def.in) cur = def.in;
      else break;
    }
    return cur;
  };
  for (const seg of path) {
    if (!s) return undefined;
    const u = unwrap(s);
    const def = (u as unknown as { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; valueType?: z.ZodType } }).def;
    if (def.type === 'object' && def.shape) s = def.shape[String(seg)];
    else if (def.type === 'array' && def.element) s = def.element;
    else if (def.type === 'record' && def.valueType) s = def.valueType;
    else return undefined;
  }
  return s;
}

function acceptedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const s = schemaAt(schema, path);
  if (!s) return [];
  let cur = s as unknown as { def: { type: string; shape?: object; innerType?: unknown; options?: unknown[] } };
  while ((cur.def.type === 'optional' || cur.def.type === 'default') && cur.def.innerType) cur = cur.def.innerType as typeof cur;
  if (cur.def.type === 'union' && cur.def.options) {
    return [...new Set(cur.def.options.flatMap((o) => Object.keys((o as typeof cur).def.shape ?? {})))];
  }
  return Object.keys(cur.def.shape ?? {});
}

function label(path: readonly PropertyKey[]): string {
  return path.length
    ? path
        .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
        .join('.')
        .replace(/\.\[/g, '[')
    : 'document';
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** The finding code a check named itself (identity.ts puts it in `params.code`). */
function ownCode(issue: z.core.$ZodIssue): string | undefined {
  const code = issue.code === 'custom' ? (issue.params as { code?: unknown } | undefined)?.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function issueFindings(loc: Located, doc: Document.Parsed, schema: z.ZodType, value: unknown, issue: z.core.$ZodIssue): Finding[] {
  const path = issue.path;
  const where = nodeAt(doc, path);
  const offset = (n: Node | undefined) => n?.range?.[0] ?? 0;
  const name = label(path);
  const got = valueAt(value, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const accepted = acceptedKeys(schema, path);
      return issue.keys.map((k) => {
        const kn = nodeAt(doc, [...path, k]);
        return at(loc, offset(kn.keyNode ?? kn.node), 'SCHEMA_UNKNOWN_KEY', `unknown key "${k}" in ${name}; accepted keys: ${accepted.join(', ')}`);
      });
    }
    case 'invalid_type': {
      if (got === undefined && !where.found) {
        const parent = path.slice(0, -1);
        return [at(loc, offset(nodeAt(doc, parent).keyNode ?? where.node), 'SCHEMA_MISSING', `missing required key "${String(path.at(-1))}" in ${label(parent)}`)];
      }
      const quote = issue.expected === 'string' && (typeof got === 'number' || typeof got === 'boolean') ? ' (quote it)' : '';
      return [
        at(
          loc,
          offset(where.node),
          'SCHEMA_TYPE',
          `${name} must be ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}, got ${show(got)}${quote}`,
        ),
      ];
    }
    case 'invalid_value': {
      const field = String(path.at(-1));
      if (field === 'apiVersion') return [at(loc, offset(where.node), 'API_VERSION', `apiVersion ${show(got)} is not supported; use ${API_VERSION}`)];
      if (field === 'kind') return [at(loc, offset(where.node), 'KIND', `kind ${show(got)} is not expected here; use ${issue.values.map(String).join(' or ')}`)];
      return [at(loc, offset(where.node), 'SCHEMA_VALUE', `${name} ${show(got)} is not one of: ${issue.values.map(String).join(', ')}`)];
    }
    case 'invalid_union': {
      // An identity problem inside one form (a trust approver's e-mail) is the precise finding.
      const inner = issue.errors.flat().find((i) => ownCode(i) !== undefined);
      if (inner) return issueFindings(loc, doc, schema, value, { ...inner, path: [...path, ...inner.path] });
      const field = String(path.at(-1));
      return [at(loc, offset(where.node), 'SCHEMA_VALUE', `${name} does not match any accepted form for ${field}; accepted keys: ${acceptedKeys(schema, path).join(', ')}`)];
    }
    case 'invalid_format':
    case 'custom': {
      // Checks that know their own finding code (identity.ts) say it in params.
      const own = ownCode(issue);
      if (own) return [at(loc, offset(where.node), own, `${name} ${issue.message}`)];
      const hint = describeField(schemaAt(schema, path) ?? z.never());
      const code = hint?.code ?? 'SCHEMA_VALUE';
      return [at(loc, offset(where.node), code, `${name} ${show(got)} is not ${hint?.hint ?? 'valid'}`)];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
      const what = issue.origin === 'string' ? 'characters' : issue.origin === 'array' ? 'items' : '';
      return [at(loc, offset(where.node), 'SCHEMA_VALUE', `${name} ${show(got)} must be ${bound}${what ? ` ${what}` : ''}`)];
    }
    default:
      return [at(loc, offset(where.node), 'SCHEMA_VALUE', `${name}: ${issue.message}`)];
  }
}

/**
 * Parses `bytes` as a document of kind `kind`. Reports every finding of the
 * file together; returns the value only when there are none.
 */
export function loadDocument<K extends Kind>(file: string, bytes: Uint8Array, kind: K): Loaded<DocumentOf<K>> {
  const pre = checkBytes(file, bytes);
  if (pre.text === undefined) return { ok: false, findings: pre.findings };
  // Limits first, in one pass, so the parser only ever sees bounded input.
  const limit = scanYaml(file, pre.text);
  if (limit) return { ok: false, findings: [limit] };
  try {
    return parseBounded(file, pre.text, kind);
  } catch (e) {
    // Should the scan ever underestimate nesting, the parser's recursion ends
    // in a RangeError: that is a refusal of this file, not a crash of the tool.
    if (e instanceof RangeError) return { ok: false, findings: [{ file, line: 1, col: 1, code: 'YAML_TOO_DEEP', message: 'collections are nested too deep to read', severity: 'error' }] };
    throw e;
  }
}

function parseBounded<K extends Kind>(file: string, text: string, kind: K): Loaded<DocumentOf<K>> {
  const lc = new LineCounter();
  const loc: Located = { file, lc, text };
  // uniqueKeys off: it is quadratic; keyFindings does the same check linearly.
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false, strict: true, version: '1.2', schema: 'core' });
  const list = Array.isArray(docs) ? docs : [];
  if (list.length !== 1) {
    const second = list[1];
    return {
      ok: false,
      findings: [
        second
          ? at(loc, second.range[0], 'YAML_MULTI_DOC', 'file holds more than one YAML document; put one document in each file')
          : at(loc, 0, 'YAML_EMPTY', `file is empty; expected a ${kind} document`),
      ],
    };
  }
  const doc = list[0]!;
  const findings = yamlFindings(loc, doc);
  if (findings.length) return { ok: false, findings };
  if (!isMap(doc.contents)) return { ok: false, findings: [at(loc, offset0(doc), 'SCHEMA_TYPE', `document must be a mapping with apiVersion and kind ${kind}`)] };
  // maxAliasCount 0: aliases were refused above; this is the belt to those braces.
  const value: unknown = doc.toJS({ maxAliasCount: 0 });
  const schema = SCHEMAS[kind] as unknown as z.ZodType;
  const parsed = schema.safeParse(value);
  const locate: Locate = (path) => {
    const w = nodeAt(doc, path);
    const { line, col } = lc.linePos(w.node?.range?.[0] ?? 0);
    return { file, line, col };
  };
  if (parsed.success) return { ok: true, value: parsed.data as DocumentOf<K>, findings: [], locate };
  const issues = parsed.error.issues.flatMap((i) => issueFindings(loc, doc, schema, value, i));
  return { ok: false, findings: sortFindings(issues), locate };
}

function offset0(doc: Document.Parsed): number {
  return (doc.contents as Node | null)?.range?.[0] ?? 0;
}

/** Orders findings by file, line, column so reports read top to bottom; drops exact repeats. */
export function sortFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings
    .filter((f) => {
      const key = `${f.file}:${f.line}:${f.col}:${f.code}:${f.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

/** Reads `kind:` from a document without validating it, to pick a schema. */
export function peekKind(bytes: Uint8Array): string | undefined {
  const m = /^kind:[ ]*([A-Za-z]+)[ ]*$/m.exec(Buffer.from(bytes.subarray(0, 4096)).toString('utf8'));
  return m?.[1];
}
