/**
 * The catalogue of operational error codes (src/crypto/error-codes.ts) and
 * the command-line reference (docs/design.md, "Error codes") list the same
 * codes with the same meanings: a code added to one and not the other, or a
 * meaning changed on one side only, fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/crypto/error-codes.js';
import { ROOT } from './helpers/cli.js';

/** The `| \`CODE\` | meaning |` rows of the "### Error codes" section, in order. */
function documented(markdown: string): [string, string][] {
  const start = markdown.indexOf('\n### Error codes\n');
  expect(start, 'docs/design.md has an "### Error codes" section').toBeGreaterThan(0);
  const rest = markdown.slice(start + 1);
  const end = rest.search(/\n##? /);
  const section = end < 0 ? rest : rest.slice(0, end);
  // Backticks only mark code in the rendered table; the meaning is the catalogue's text.
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| (.+?) \|$/gm)].map((m) => [m[1]!, m[2]!.replaceAll('`', '').replaceAll('\\|', '|')]);
}

const rows = documented(readFileSync(join(ROOT, 'docs', 'design.md'), 'utf8'));

describe('the error codes in the command-line reference', () => {
  it('lists every code of the catalogue, and no other', () => {
    const inDoc = rows.map(([code]) => code);
    const inSource = Object.keys(ERROR_CODES);
    expect(
      inSource.filter((c) => !inDoc.includes(c)),
      'in the catalogue, missing from docs/design.md',
    ).toEqual([]);
    expect(
      inDoc.filter((c) => !inSource.includes(c)),
      'in docs/design.md, not in the catalogue',
    ).toEqual([]);
    expect(new Set(inDoc).size, 'each code once').toBe(inDoc.length);
  });

  it('gives each code the meaning the catalogue gives it', () => {
    const meanings = new Map<string, string>(Object.entries(ERROR_CODES));
    expect(rows.filter(([code, meaning]) => meanings.get(code) !== meaning)).toEqual([]);
  });

  it('has one-line meanings and codes in UPPER_SNAKE form', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/);
      expect(meaning).not.toMatch(/\n/);
      expect(meaning.length).toBeGreaterThan(10);
    }
  });
});
