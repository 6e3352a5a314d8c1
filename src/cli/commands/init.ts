import { copyFile, readdir, readFile, writeFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { git } from '../../adapters/git.js';
import { PROJECT_ROOT } from '../../project-root.js';
import { makeDirectory } from '../common.js';
import { approvePolicyCommand } from '../policy-status.js';
import type { CliIo, ExitCode } from '../io.js';
import { STARTER_POLICY, SESSIONS_README, GITATTRIBUTES } from '../templates.js';

async function exists(p: string): Promise<boolean> {
  return !!(await stat(p).catch(() => undefined));
}

export function registerInit(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('init')
    .argument('[dir]', 'directory to set up (default: current directory)')
    .description('set up an access repository: policies/, sessions/, .gitattributes (never overwrites)')
    .action(async (dirArg: string | undefined) => {
      const dir = resolve(io.cwd, dirArg ?? '.');
      await makeDirectory(dir);
      if (!(await exists(join(dir, '.git')))) {
        await git(dir, ['init', '-q', '-b', 'main']);
        io.out(`initialized git repository in ${dir}`);
      }
      const files: [string, string][] = [
        ['policies/production.yaml', STARTER_POLICY],
        ['sessions/README.md', SESSIONS_README],
      ];
      for (const [rel, content] of files) {
        const path = join(dir, rel);
        if (await exists(path)) {
          io.out(`kept ${rel} (exists)`);
          continue;
        }
        await makeDirectory(dirname(path));
        await writeFile(path, content, { flag: 'wx' });
        io.out(`wrote ${rel}`);
      }
      // JSON Schemas for editors (yaml-language-server), referenced relatively by the files we write.
      const schemaDir = join(dir, '.breakglass', 'schemas');
      await makeDirectory(schemaDir);
      for (const f of (await readdir(join(PROJECT_ROOT, 'schemas'))).filter((n) => n.endsWith('.json'))) {
        await copyFile(join(PROJECT_ROOT, 'schemas', f), join(schemaDir, f));
      }
      io.out('wrote .breakglass/schemas/ (JSON Schema for editors)');
      // .gitattributes: append the lines that are missing, keep what is there.
      const attrs = join(dir, '.gitattributes');
      const current = (await readFile(attrs, 'utf8').catch(() => '')).split('\n');
      const missing = GITATTRIBUTES.split('\n').filter((l) => l && !current.includes(l));
      if (missing.length) {
        const prefix = current.join('\n');
        await writeFile(attrs, `${prefix}${prefix && !prefix.endsWith('\n') ? '\n' : ''}${missing.join('\n')}\n`);
        io.out('updated .gitattributes (YAML kept at LF: approvals bind exact bytes)');
      }
      io.out('next: edit policies/production.yaml (requesters, recipients, approvers, resources) and commit it;');
      io.out(`then approvers sign its exact bytes: ${approvePolicyCommand('production')}`);
      io.out('(the runner refuses every session under a policy that the trust threshold has not approved)');
      done(0);
    });
}
