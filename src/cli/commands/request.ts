import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadDocument } from '../../core/document.js';
import { formatTime } from '../../core/duration.js';
import { API_VERSION } from '../../core/schemas.js';
import { loadRepository } from '../../core/repository.js';
import { checkPolicies, evaluateSession } from '../../core/validate.js';
import { hasErrors } from '../../core/errors.js';
import { WorkTreeSource } from '../../adapters/source.js';
import { collectPairs, printFindings, repoDir } from '../common.js';
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

/** Serializes a document the way breakglass writes files: block style, no line folding. */
export function toYaml(doc: unknown): string {
  return stringify(doc, { lineWidth: 0, minContentWidth: 0, indent: 2 });
}

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
      // Check the exact bytes we would write, as `validate` will read them.
      const loaded = loadDocument(rel, bytes, 'Request');
      if (!loaded.ok) {
        printFindings(io, loaded.findings);
        io.err('nothing written');
        return done(1);
      }
      const model = await loadRepository(new WorkTreeSource(dir));
      if (model.sessions.has(opts.id)) {
        io.err(`session ${opts.id} already exists in ${dir}/sessions; choose another id (requests are never rewritten)`);
        return done(2);
      }
      const pol = checkPolicies(model);
      const fake = { id: opts.id, approvals: [], request: { path: rel, bytes, digest: '', value: loaded.value, locate: loaded.locate } };
      const { findings } = evaluateSession(fake, pol.usable, pol.broken, io.now());
      if (hasErrors(findings)) {
        printFindings(io, findings);
        io.err('nothing written');
        return done(1);
      }
      await mkdir(join(dir, 'sessions', opts.id), { recursive: true });
      // 'wx': never overwrite a request that appeared meanwhile.
      await writeFile(join(dir, rel), bytes, { flag: 'wx' });
      io.out(`wrote ${rel}`);
      io.out(`next: git add ${rel} && git commit -m "Request ${opts.id}" and open a pull request`);
      done(0);
    });
}
