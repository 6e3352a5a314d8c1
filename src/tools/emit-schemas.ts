/**
 * Writes a JSON Schema per document kind into the given directory, for
 * editors (yaml-language-server). Run by `npm run schemas`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { SCHEMAS } from '../core/schemas.js';

const out = process.argv[2] ?? 'schemas';
await mkdir(out, { recursive: true });
for (const [kind, schema] of Object.entries(SCHEMAS)) {
  const json = z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  const file = join(out, `${kind.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ $id: `https://breakglass.dev/schemas/v1/${kind.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}.json`, title: `breakglass ${kind}`, ...json }, null, 2)}\n`,
  );
}
process.stdout.write(`wrote ${Object.keys(SCHEMAS).length} JSON Schemas to ${out}/\n`);
