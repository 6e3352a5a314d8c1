import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeYaml as toYaml } from '../../core/yaml-write.js';
import { loadDocument, sortFindings } from '../../core/document.js';
import { formatTime } from '../../core/duration.js';
import { API_VERSION, type Request } from '../../core/schemas.js';
import { loadRepository } from '../../core/repository.js';
import { checkPolicies, evaluateSession } from '../../core/validate.js';
import { BreakglassError, hasErrors } from '../../core/errors.js';
import { WorkTreeSource } from '../../adapters/source.js';
import { collectPairs, makeDirectory, printFindings, repoDir } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';

interface NewOpts {
  id: string;
  resource: string;
  privilege: string;
  duration: string;
  network: string;
  reason: string;
  requester: string;
  recipient: string;
  command?: string;
  input?: Record<string, string>;
  repo?: string;
}

/** Serializes a document the way breakglass writes files (core/yaml-write.ts). */
export { toYaml };

/** A yaml-language-server header pointing at the repository's copy of the JSON Schema, if it has one. */
export async function schemaHeader(dir: string, kind: string): Promise<string> {
  for (const base of ['.breakglass/schemas', 'schemas']) {
    if (await stat(join(dir, base, `${kind}.json`)).catch(() => undefined)) return `# yaml-language-server: $schema=../../${base}/${kind}.json\n`;
  }
  return '';
}

export function registerRequest(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  const request = program.command('request').description('write break-glass requests');
  request
    .command('new')
    .description('write sessions/<id>/request.yaml, checked against policy before anything is written')
    .requiredOption('--id <id>', 'session id (a DNS label; also the folder name)')
    .requiredOption('--resource <name>', 'a resource named in policy')
    .requiredOption('--privilege <p>', 'a privilege the policy allows for that resource')
    .requiredOption('--duration <d>', 'how long, e.g. 30m, 1h, 1h30m')
    .requiredOption('--network <n>', 'direct | tailscale | twingate | networkpolicy')
    .requiredOption('--reason <text>', 'why, e.g. "INC-4411: api pods crash-looping"')
    .requiredOption('--requester <who>', 'your e-mail address, as the policy lists requesters')
    .requiredOption('--recipient <fpr>', 'the OpenPGP fingerprint the credential is sealed to')
    .option('--command <name>', 'for command resources: the command name')
    .option('--input <k=v>', 'a command input (repeatable)', collectPairs)
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .action(async (opts: NewOpts) => {
      const dir = await repoDir(io, opts.repo);
      const doc = {
        apiVersion: API_VERSION,
        kind: 'Request',
        metadata: { id: opts.id, requester: opts.requester, created: formatTime(io.now()) },
        spec: {
          reason: opts.reason,
          resource: opts.resource,
          privilege: opts.privilege,
          duration: opts.duration,
          network: opts.network,
          recipient: opts.recipient.replace(/\s+/g, ''),
          ...(opts.command || opts.input ? { command: { name: opts.command ?? '', inputs: opts.input ?? {} } } : {}),
        },
      };
      const rel = `sessions/${opts.id}/request.yaml`;
      const bytes = Buffer.from(`${await schemaHeader(dir, 'request')}${toYaml(doc)}`);
      const model = await loadRepository(new WorkTreeSource(dir));
      const exists = () => new BreakglassError('SESSION_EXISTS', `session ${opts.id} already exists in ${dir}/sessions; choose another id (requests are never rewritten)`);
      if (model.sessions.has(opts.id)) throw exists();
      // Check the exact bytes we would write, as `validate` will read them: schema and policy
      // together, so every problem is reported in one try. The options are plain strings, so
      // each policy rule can be judged even where the schema is not yet satisfied.
      const loaded = loadDocument(rel, bytes, 'Request');
      const value = loaded.ok ? loaded.value : (doc as unknown as Request);
      const pol = checkPolicies(model);
      const policy = loaded.locate
        ? evaluateSession({ id: opts.id, approvals: [], request: { path: rel, bytes, digest: '', value, locate: loaded.locate } }, pol.usable, pol.broken, io.now()).findings
        : [];
      // One finding per spot: where the schema already refused a value, its policy verdict adds nothing.
      const refused = new Set(loaded.findings.map((f) => `${f.line}:${f.col}`));
      const findings = sortFindings([...loaded.findings, ...policy.filter((f) => !refused.has(`${f.line}:${f.col}`))]);
      if (hasErrors(findings)) {
        printFindings(io, findings);
        io.err('nothing written');
        return done(1);
      }
      await makeDirectory(join(dir, 'sessions', opts.id));
      // 'wx': never overwrite a request that appeared meanwhile.
      await writeFile(join(dir, rel), bytes, { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
        throw e.code === 'EEXIST' ? exists() : e;
      });
      io.out(`wrote ${rel}`);
      io.out(`next: git add ${rel} && git commit -m "Request ${opts.id}" and open a pull request`);
      done(0);
    });
}
