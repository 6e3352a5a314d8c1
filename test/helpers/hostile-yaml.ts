/**
 * Hostile YAML of a chosen size, one shape per way a file can make a YAML
 * parser work harder than its size, and a benign document of the same size.
 * Shared by the input-limit tests and `npm run bench` (bench/yaml.js).
 */

const HEAD = 'apiVersion: breakglass.dev/v1\nkind: Request\n';

/** `head`, then as many units as fit within `bytes` (ASCII, so characters are bytes), then `tail`. */
function grow(head: string, unit: (i: number) => string, bytes: number, tail = ''): string {
  const parts = [head];
  let size = head.length + tail.length;
  for (let i = 0; ; i++) {
    const u = unit(i);
    if (size + u.length > bytes) break;
    parts.push(u);
    size += u.length;
  }
  return parts.join('') + tail;
}

/** Each shape, filled to about `bytes` bytes. */
export const HOSTILE: Record<string, (bytes: number) => string> = {
  /** The reported case: distinct keys in one mapping (quadratic with the parser's uniqueKeys). */
  'distinct keys': (n) => grow(`${HEAD}metadata:\n`, (i) => `  k${i}: v\n`, n),
  'keys in one flow mapping': (n) => grow(`${HEAD}spec: {`, (i) => `k${i}: v, `, n, '}\n'),
  'flow nesting': (n) => `${HEAD}spec: ${'['.repeat((n - HEAD.length) >> 1)}${']'.repeat((n - HEAD.length) >> 1)}\n`,
  'block nesting': (n) => grow(HEAD, (i) => `${' '.repeat(i % 4000)}k:\n`, n),
  'list items': (n) => grow(`${HEAD}spec:\n`, () => '  - x\n', n),
  'one long line': (n) => `${HEAD}spec: ${'x'.repeat(n)}\n`,
  'anchors and aliases': (n) => grow(`${HEAD}a: &a [x, x, x, x, x, x, x, x]\nb: [`, () => '*a, ', n, ']\n'),
  'blank lines': (n) => `${HEAD}${'\n'.repeat(n)}`,
  'comment lines': (n) => grow(HEAD, () => '# c\n', n),
  'duplicate keys': (n) => grow(`${HEAD}metadata:\n`, () => '  k: v\n', n),
  documents: (n) => grow('', () => '---\na: 1\n', n),
};

/** A valid document (`policy`) padded with comment lines to about `bytes` bytes: the benign file of the same size. */
export function benignPadded(policy: string, bytes: number): string {
  return grow(policy, (i) => `# ${String(i).padStart(6, '0')} ${'notes on the policy, kept beside it. '.repeat(100)}\n`, bytes);
}
