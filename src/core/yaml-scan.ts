/**
 * A linear pre-scan of YAML text, run before the parser sees it, so that no
 * file can make a tool (the CLI, the Action, the runner's poll loop, the
 * audit) spend more than time proportional to its size.
 *
 * It is not a parser. It reads the text once, left to right, skipping
 * comments, quoted scalars and block scalars, and tracks just enough
 * structure to bound what the parser would build:
 *
 * - line length and line count (YAML_LINE_TOO_LONG, YAML_TOO_MANY_LINES),
 * - nesting depth of block and flow collections (YAML_TOO_DEEP),
 * - nodes: scalars and collections (YAML_TOO_MANY_NODES),
 * - keys in one mapping (YAML_TOO_MANY_KEYS),
 * - anchors and aliases, refused outright (YAML_ALIAS),
 * - more than one document (YAML_MULTI_DOC).
 *
 * Where it guesses, it guesses high (a continuation line of a plain scalar
 * may count as a key), which can only refuse a file, never admit a bigger one.
 * The limits are far above any real breakglass document.
 */
import type { Finding } from './errors.js';

/** The limits; each finding's message states the one that was passed. */
export const YAML_LIMITS = {
  /** Characters in one line; a 2,000-character reason fits with room to spare. */
  lineChars: 4096,
  /** Lines, comments and blank lines included (the parser's cost per line is high); real documents have tens. */
  lines: 10_000,
  /** Nested collections; real documents nest five or six deep. */
  depth: 32,
  /** Scalars and collections in one file; a large policy has a few hundred. */
  nodes: 10_000,
  /** Keys in one mapping; the widest real mapping (runner resources) has tens. */
  keys: 1_000,
} as const;

interface Frame {
  /** Column of a block collection; -1 for a flow collection. */
  indent: number;
  kind: 'map' | 'seq';
  keys: number;
}

interface BlockScalar {
  parent: number;
  content?: number;
}

const SPACE_OR_END = (c: string | undefined) => c === undefined || c === ' ' || c === '\n';
const FLOW_INDICATOR = (c: string | undefined) => c === ',' || c === '[' || c === ']' || c === '{' || c === '}';

class Scanner {
  private i = 0;
  private line = 1;
  private lineStart = 0;
  private block: Frame[] = [];
  private flow: Frame[] = [];
  private nodes = 0;
  private docs = 0;
  private docOpen = false;
  private quote: '"' | "'" | undefined;
  private scalar: BlockScalar | undefined;
  /** True where a new token may begin (line start, after "- ", ": ", "[", "{", ","). */
  private tokenStart = true;
  /** True while the last token read is a plain scalar, which a more indented next line continues. */
  private plain = false;
  /** Column of the token being read (the candidate key), and of the innermost key or dash on this line. */
  private tokenCol = 0;
  private lineParent = -1;
  /** Index of the first non-space character of the current line. */
  private lineFirst = 0;

  private readonly file: string;
  private readonly text: string;

  constructor(file: string, text: string) {
    this.file = file;
    this.text = text;
  }

  private finding(offset: number, code: string, message: string): Finding {
    const line = this.line;
    return { file: this.file, line, col: offset - this.lineStart + 1, code, message, severity: 'error' };
  }

  run(): Finding | undefined {
    const t = this.text;
    while (this.i < t.length) {
      const f = this.scanLine();
      if (f) return f;
    }
    return undefined;
  }

  /** One line: its length, then (outside quoted and block scalars) its structure. */
  private scanLine(): Finding | undefined {
    const t = this.text;
    const start = this.i;
    let end = t.indexOf('\n', start);
    if (end < 0) end = t.length;
    this.lineStart = start;
    if (this.line > YAML_LIMITS.lines) {
      return this.finding(start, 'YAML_TOO_MANY_LINES', `file has more than ${YAML_LIMITS.lines} lines; at most ${YAML_LIMITS.lines} are accepted`);
    }
    if (end - start > YAML_LIMITS.lineChars) {
      return this.finding(start + YAML_LIMITS.lineChars, 'YAML_LINE_TOO_LONG', `line is ${end - start} characters long; at most ${YAML_LIMITS.lineChars} are accepted`);
    }
    const f = this.structure(start, end);
    this.i = end + 1;
    this.line++;
    return f;
  }

  private structure(start: number, end: number): Finding | undefined {
    const t = this.text;
    let i = start;
    while (i < end && t[i] === ' ') i++;
    const indent = i - start;
    this.lineFirst = i;
    if (this.scalar && this.inBlockScalar(i, end, indent)) return undefined;
    if (!this.quote) {
      if (i === end) return undefined;
      if (t[i] === '#') return ((this.plain = false), undefined);
      if (indent === 0 && t[i] === '%') return undefined;
      const marker = indent === 0 && (t.startsWith('---', i) || t.startsWith('...', i)) && SPACE_OR_END(t[i + 3]) ? t[i] : undefined;
      if (marker) {
        this.plain = false;
        this.block = [];
        this.flow = [];
        if (marker === '.') return ((this.docOpen = false), undefined);
        const f = this.openDocument(i);
        if (f) return f;
        i += 3;
      }
      this.lineParent = indent - 1;
      // A more indented line after a plain scalar continues it, as the parser
      // reads it: a quote, dash or "&" there is text, not a new token.
      const continues = this.plain && (this.flow.length > 0 || indent > (this.block.at(-1)?.indent ?? -1));
      this.tokenStart = !continues;
      this.plain = continues;
      this.tokenCol = i;
    }
    return this.tokens(i, end);
  }

  /** Whether the line belongs to the open block scalar (`|` or `>`); closes it when not. */
  private inBlockScalar(i: number, end: number, indent: number): boolean {
    const t = this.text;
    const s = this.scalar!;
    const marker = indent === 0 && (t.startsWith('---', i) || t.startsWith('...', i)) && SPACE_OR_END(t[i + 3]);
    if (!marker) {
      if (i === end) return true;
      if (s.content === undefined && indent > s.parent) return ((s.content = indent), true);
      if (s.content !== undefined && indent >= s.content) return true;
    }
    this.scalar = undefined;
    return false;
  }

  private openDocument(offset: number): Finding | undefined {
    this.docs++;
    this.docOpen = true;
    return this.docs > 1 ? this.finding(offset, 'YAML_MULTI_DOC', 'file holds more than one YAML document; put one document in each file') : undefined;
  }

  private tokens(from: number, end: number): Finding | undefined {
    const t = this.text;
    for (let i = from; i < end; i++) {
      const c = t[i]!;
      if (this.quote) {
        i = this.skipQuoted(i, end);
        continue;
      }
      if (c === ' ') {
        continue;
      }
      if (c === '#' && (i === this.lineStart || t[i - 1] === ' ')) return ((this.plain = false), undefined);
      const f = this.token(c, i, end);
      if (typeof f === 'number') i = f;
      else if (f) return f;
    }
    return undefined;
  }

  /** Index of the last character of the quoted scalar on this line (or the line's end when it goes on). */
  private skipQuoted(i: number, end: number): number {
    const t = this.text;
    for (; i < end; i++) {
      if (this.quote === '"' && t[i] === '\\') i++;
      else if (this.quote === "'" && t[i] === "'" && t[i + 1] === "'") i++;
      else if (t[i] === this.quote) {
        this.quote = undefined;
        return i;
      }
    }
    return end;
  }

  /** Handles one significant character; returns a finding, or an index to resume after. */
  private token(c: string, i: number, end: number): Finding | number | undefined {
    const t = this.text;
    const inFlow = this.flow.length > 0;
    if (!this.docOpen) {
      const f = this.openDocument(i);
      if (f) return f;
    }
    if (inFlow && FLOW_INDICATOR(c)) return this.flowIndicator(c, i);
    if (c === ':' && (SPACE_OR_END(t[i + 1]) || i + 1 === end || (inFlow && FLOW_INDICATOR(t[i + 1])))) {
      this.tokenStart = true;
      this.plain = false;
      return this.key(this.tokenCol);
    }
    if (!this.tokenStart) return undefined;
    this.tokenCol = i;
    if ((c === '-' || c === '?') && (SPACE_OR_END(t[i + 1]) || i + 1 === end) && !inFlow) {
      this.lineParent = i - this.lineStart;
      this.plain = false;
      return c === '-' ? this.item(i) : this.key(i);
    }
    if (c === '&' || c === '*') {
      const name = /^[^\s,[\]{}]*/.exec(t.slice(i + 1, Math.min(end, i + 1 + 64)))![0];
      const what = c === '&' ? `anchor &${name}` : `alias *${name}`;
      return this.finding(i, 'YAML_ALIAS', `${what} is not allowed; anchors and aliases are refused, write values out in full`);
    }
    if (!inFlow && (c === '[' || c === '{')) return this.flowIndicator(c, i);
    if (!inFlow && (c === '|' || c === '>')) {
      const after = this.blockScalarHeader(i, end);
      if (after !== undefined) return after;
    }
    this.tokenStart = false;
    if (c === '"' || c === "'") this.quote = c;
    this.plain = this.quote === undefined;
    return this.count(i);
  }

  /** A block scalar header (`|`, `>-`, `|2` ...) runs to the end of the line; returns that end, or undefined when this is not one. */
  private blockScalarHeader(i: number, end: number): number | undefined {
    const t = this.text;
    let j = i + 1;
    let explicit: number | undefined;
    while (j < end && /[0-9+-]/.test(t[j]!)) {
      if (t[j]! >= '1' && t[j]! <= '9') explicit = Number(t[j]);
      j++;
    }
    while (j < end && t[j] === ' ') j++;
    if (j < end && t[j] !== '#') return undefined;
    const parent = this.lineParent;
    this.plain = false;
    this.scalar = { parent, content: explicit === undefined ? undefined : Math.max(parent, 0) + explicit };
    this.nodes++;
    return end;
  }

  private flowIndicator(c: string, i: number): Finding | undefined {
    this.tokenStart = true;
    this.plain = false;
    if (c === '[' || c === '{') {
      this.flow.push({ indent: -1, kind: c === '{' ? 'map' : 'seq', keys: 0 });
      return this.count(i) ?? this.depth(i);
    }
    if (c === ']' || c === '}') this.flow.pop();
    return undefined;
  }

  /** A key indicator (`:` after a key, or `?`) for the key token starting at index `col`. */
  private key(col: number): Finding | undefined {
    // A key that began on an earlier line (a multi-line quoted key, which the
    // parser refuses anyway) is placed where this line begins.
    if (col < this.lineStart) col = this.lineFirst;
    let frame: Frame | undefined;
    if (this.flow.length) {
      frame = this.flow.at(-1)!;
    } else {
      const indent = col - this.lineStart;
      while (this.block.length && (this.block.at(-1)!.indent > indent || (this.block.at(-1)!.indent === indent && this.block.at(-1)!.kind === 'seq'))) this.block.pop();
      frame = this.block.at(-1);
      if (!frame || frame.indent !== indent) {
        frame = { indent, kind: 'map', keys: 0 };
        this.block.push(frame);
        const f = this.count(col) ?? this.depth(col);
        if (f) return f;
      }
      this.lineParent = indent;
    }
    frame.keys++;
    if (frame.keys > YAML_LIMITS.keys) {
      return this.finding(col, 'YAML_TOO_MANY_KEYS', `mapping has more than ${YAML_LIMITS.keys} keys; at most ${YAML_LIMITS.keys} are accepted in one mapping`);
    }
    return undefined;
  }

  /** A block sequence entry (`- `) at index `i`. */
  private item(i: number): Finding | undefined {
    const indent = i - this.lineStart;
    while (this.block.length && this.block.at(-1)!.indent > indent) this.block.pop();
    const top = this.block.at(-1);
    if (!top || top.indent !== indent || top.kind !== 'seq') {
      this.block.push({ indent, kind: 'seq', keys: 0 });
      return this.count(i) ?? this.depth(i);
    }
    return undefined;
  }

  private count(i: number): Finding | undefined {
    this.nodes++;
    if (this.nodes > YAML_LIMITS.nodes) {
      return this.finding(i, 'YAML_TOO_MANY_NODES', `file has more than ${YAML_LIMITS.nodes} YAML nodes (values, lists and mappings); at most ${YAML_LIMITS.nodes} are accepted`);
    }
    return undefined;
  }

  private depth(i: number): Finding | undefined {
    const depth = this.block.length + this.flow.length;
    if (depth > YAML_LIMITS.depth) {
      return this.finding(i, 'YAML_TOO_DEEP', `collections are nested ${depth} deep here; at most ${YAML_LIMITS.depth} levels are accepted`);
    }
    return undefined;
  }
}

/**
 * Scans `text` (already checked for encoding, tabs and CR by the caller) in
 * one pass and returns the first limit it passes, or undefined. Runs in time
 * linear in the length of `text`, whatever it holds.
 */
export function scanYaml(file: string, text: string): Finding | undefined {
  return new Scanner(file, text).run();
}
