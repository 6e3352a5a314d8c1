/**
 * The request digest is over the bytes git stores for a commit, not what a
 * checkout made of them: a CRLF checkout or an uncommitted edit must not
 * change what an approval binds.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommitSource, WorkTreeSource } from '../src/adapters/source.js';
import { repositoryNameFromUrl } from '../src/adapters/git.js';
import { loadRepository } from '../src/core/repository.js';
import { ROOT } from './helpers/cli.js';

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
const REQ = join(ROOT, 'test/fixtures/valid/sessions/inc-4411-prod-crashloop/request.yaml');

async function repoWithRequest(): Promise<{ dir: string; bytes: Buffer; commit: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-digest-'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 't@example.com');
  git(dir, 'config', 'user.name', 't');
  const bytes = await readFile(REQ);
  await mkdir(join(dir, 'sessions/inc-4411-prod-crashloop'), { recursive: true });
  await writeFile(join(dir, 'sessions/inc-4411-prod-crashloop/request.yaml'), bytes);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'request');
  return { dir, bytes, commit: git(dir, 'rev-parse', 'HEAD') };
}

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('the request digest', () => {
  it('is the SHA-256 of the committed bytes, whatever the working tree holds', async () => {
    const { dir, bytes, commit } = await repoWithRequest();
    await writeFile(join(dir, 'sessions/inc-4411-prod-crashloop/request.yaml'), Buffer.concat([bytes, Buffer.from('# edited\n')]));
    const atCommit = (await loadRepository(await CommitSource.open(dir, commit))).sessions.get('inc-4411-prod-crashloop')!;
    const inTree = (await loadRepository(new WorkTreeSource(dir))).sessions.get('inc-4411-prod-crashloop')!;
    expect(atCommit.request!.digest).toBe(sha(bytes));
    expect(inTree.request!.digest).not.toBe(sha(bytes));
  });

  it('is unchanged by a checkout that converts line endings to CRLF', async () => {
    const { dir, bytes } = await repoWithRequest();
    const clone = await mkdtemp(join(tmpdir(), 'bg-crlf-'));
    execFileSync('git', ['-c', 'core.autocrlf=true', 'clone', '-q', dir, clone]);
    git(clone, 'config', 'core.autocrlf', 'true');
    const checkedOut = await readFile(join(clone, 'sessions/inc-4411-prod-crashloop/request.yaml'));
    expect(checkedOut.includes('\r\n')).toBe(true);
    const s = (await loadRepository(await CommitSource.open(clone, 'HEAD'))).sessions.get('inc-4411-prod-crashloop')!;
    expect(s.request!.digest).toBe(sha(bytes));
    expect(s.request!.value?.metadata.id).toBe('inc-4411-prod-crashloop');
  });

  it('refuses a symlink committed in place of a request', async () => {
    const { dir } = await repoWithRequest();
    await mkdir(join(dir, 'sessions/inc-1-link'), { recursive: true });
    execFileSync('ln', ['-s', '/etc/passwd', join(dir, 'sessions/inc-1-link/request.yaml')]);
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'link');
    // Refused per entry: that session is unreadable, the others load as usual.
    for (const source of [await CommitSource.open(dir, 'HEAD'), new WorkTreeSource(dir)]) {
      const model = await loadRepository(source);
      expect(model.findings).toContainEqual(expect.objectContaining({ file: 'sessions/inc-1-link/request.yaml', code: 'SYMLINK', severity: 'error' }));
      expect(model.sessions.get('inc-1-link')!.unreadable).toEqual([expect.objectContaining({ code: 'SYMLINK' })]);
      expect(model.sessions.get('inc-4411-prod-crashloop')!.request!.value).toBeDefined();
      await expect(source.read('sessions/inc-1-link/request.yaml')).rejects.toMatchObject({ code: 'SYMLINK' });
    }
  });
});

describe('the repository name bound into approvals', () => {
  it.each([
    ['git@github.com:customer/access.git', 'github.com/customer/access'],
    ['https://github.com/customer/access', 'github.com/customer/access'],
    ['https://GitHub.com/customer/access.git/', 'github.com/customer/access'],
    ['ssh://git@git.example:2222/team/sub/access.git', 'git.example/team/sub/access'],
    ['/srv/git/access.git', undefined],
  ])('%s -> %s', (url, name) => {
    expect(repositoryNameFromUrl(url)).toBe(name);
  });
});
