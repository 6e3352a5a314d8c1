/** `receive` writes credentials so that nobody else can read them, not even for a moment. */
import { lstat, mkdtemp, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSecretFile } from '../src/cli/commands/receive.js';

describe('writing a received credential', () => {
  it('replaces an existing world-readable file with a 0600 one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-recv-'));
    const out = join(dir, 'x.kubeconfig');
    await writeFile(out, 'old', { mode: 0o644 });
    await writeSecretFile(out, 'token: s3cret');
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(await readFile(out, 'utf8')).toBe('token: s3cret');
  });

  it('replaces a symlink planted at --out instead of writing through it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-recv-'));
    const victim = join(dir, 'victim');
    await writeFile(victim, 'untouched', { mode: 0o644 });
    const out = join(dir, 'x.kubeconfig');
    await symlink(victim, out);
    await writeSecretFile(out, 'token: s3cret');
    expect(await readFile(victim, 'utf8')).toBe('untouched');
    expect((await lstat(out)).isSymbolicLink()).toBe(false);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
  });
});
