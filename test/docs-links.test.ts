/**
 * The documentation is self-contained: every relative link in every Markdown
 * file resolves to a file in the repository, no link leaves it (no http(s),
 * no path above the root), and no file points at the design file that used to
 * live beside the repository.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

/** Tracked and new (not ignored) files, as git sees the work tree. */
function repositoryFiles(): string[] {
  const out = execFileSync('git', ['-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' });
  return [...new Set(out.split('\0').filter((f) => f && existsSync(resolve(ROOT, f))))];
}

/** Inline links and images `[text](target)`, and reference definitions `[label]: target`. */
function linksIn(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
  const inline = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const refs = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  const html = [...prose.matchAll(/<(?:a|img)\s[^>]*(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
  return [...inline, ...refs, ...html];
}

const files = repositoryFiles();
const markdown = files.filter((f) => f.endsWith('.md'));

describe('links in the documentation', () => {
  it('finds the Markdown files (README.md and docs/)', () => {
    expect(markdown).toContain('README.md');
    expect(markdown).toContain('docs/README.md');
    expect(markdown).toContain('docs/design.md');
  });

  it.each(markdown)('%s: every link resolves to a file in the repository', (file) => {
    const problems: string[] = [];
    for (const link of linksIn(readFileSync(resolve(ROOT, file), 'utf8'))) {
      if (link.startsWith('#')) continue;
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) {
        problems.push(`${link}: leaves the repository`);
        continue;
      }
      const target = resolve(ROOT, dirname(file), decodeURIComponent(link.replace(/[#?].*$/, '')));
      const rel = relative(ROOT, target);
      if (rel.startsWith('..') || resolve(ROOT, rel) !== target) problems.push(`${link}: points outside the repository`);
      else if (!existsSync(target)) problems.push(`${link}: no such file ${rel}`);
    }
    expect(problems).toEqual([]);
  });
});

describe('the design file outside the repository', () => {
  const needle = ['..', 'shared'].join('/');

  it('is referred to by no file', () => {
    const offenders = files.filter((f) => {
      const bytes = readFileSync(resolve(ROOT, f));
      return !bytes.includes(0) && bytes.toString('utf8').includes(needle);
    });
    expect(offenders).toEqual([]);
  });
});
