// Counts non-null assertions (`x!`) and type assertions (`x as T`, apart from `as const`) in src/,
// with the TypeScript parser, so comments and strings do not count. Issue 16 tracks the figures.
//   node scripts/count-assertions.mjs [dir]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const root = process.argv[2] ?? 'src';
const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.ts')) files.push(p);
  }
};
walk(root);
const counts = { nonNull: 0, as: 0, asConst: 0 };
for (const f of files) {
  const sf = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (n) => {
    if (ts.isNonNullExpression(n)) counts.nonNull++;
    if (ts.isAsExpression(n)) counts[n.type.getText(sf) === 'const' ? 'asConst' : 'as']++;
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
console.log(`${root}: ${counts.nonNull} non-null assertions (!), ${counts.as} type assertions (as T), ${counts.asConst} as const, in ${files.length} files`);
