/**
 * One hostile session folder must not blind the runner (issue 10, class 4).
 * The real runner binary against the real API server and a real git remote:
 * a symlink, a gitlink (submodule) and an oversized file each sit in their own
 * session, a record.yaml is planted in an active session and in a new one, and
 * a pull-request comment carries the GitHub channel's marker. Every other
 * session still activates and ends; the runner's own record replaces the
 * planted one; the hostile sessions are refused by code in loop.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readPublicKey, verifyDetached } from '../../src/crypto/openpgp.js';
import { useGitHubRunner } from '../helpers/github-runner.js';
import { RunnerEnv } from '../helpers/runner-env.js';

const cluster = inject('cluster');

interface LoopJson {
  refused?: Record<string, { code: string; message: string }>;
  failures?: Record<string, { code: string; message: string }>;
}
const loopState = (env: RunnerEnv) => JSON.parse(readFileSync(join(env.state, 'loop.json'), 'utf8')) as LoopJson;

async function markerExists(env: RunnerEnv, id: string): Promise<boolean> {
  const core = env.admin().makeApiClient(CoreV1Api);
  return core.readNamespacedConfigMap({ namespace: env.namespace, name: `bg-marker-${id}` }).then(
    () => true,
    () => false,
  );
}

/** The runner's record in the remote, checked against the runner key. */
async function runnerRecord(env: RunnerEnv, id: string): Promise<Record<string, unknown>> {
  const text = env.remoteFile(`sessions/${id}/record.yaml`)!;
  const sig = env.remoteFile(`sessions/${id}/record.yaml.asc`)!;
  await verifyDetached(Buffer.from(text), Buffer.from(sig), [await readPublicKey(env.runnerKey.publicKey)], new Date());
  return parse(text) as Record<string, unknown>;
}

describe('the runner with hostile content in some session folders', () => {
  const env = new RunnerEnv(cluster);
  const logs: string[] = [];
  beforeAll(async () => {
    await env.setup();
    await env.addSession('victim', { privilege: 'view', duration: '30m' });
    const r = await env.runner();
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(env.outbox, 'victim.asc'))).toBe(true);
  });
  afterAll(() => env.cleanup());

  it('activates and ends every other session while a symlink, a gitlink, a huge file and planted records sit beside them', async () => {
    // A symlink in place of a request.
    mkdirSync(join(env.work, 'sessions/hostile-link'), { recursive: true });
    symlinkSync('/etc/passwd', join(env.work, 'sessions/hostile-link/request.yaml'));
    // A gitlink: a nested repository committed as a submodule entry (mode 160000).
    const sub = join(env.work, 'sessions/hostile-sub/approvals');
    mkdirSync(sub, { recursive: true });
    execFileSync('git', ['init', '-q', sub]);
    execFileSync('git', ['-C', sub, '-c', 'user.name=v', '-c', 'user.email=v@example.invalid', 'commit', '-q', '--allow-empty', '-m', 'sub']);
    // An approved session whose folder also holds a file too large to read.
    await env.addSession('hostile-huge', { privilege: 'view' });
    env.write('sessions/hostile-huge/approvals/bob.yaml', `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    // A record planted in the active session, which is ended in the same push, and one signed by the vendor in a new session.
    env.write('sessions/victim/record.yaml', 'apiVersion: breakglass.dev/v1\nkind: Record\nsession: victim\noutcome: ended\n');
    env.endSession('victim');
    await env.addSession('good-b', { privilege: 'view' });
    const planted = 'apiVersion: breakglass.dev/v1\nkind: Record\nsession: good-b\noutcome: ended\n';
    env.write('sessions/good-b/record.yaml', planted);
    env.write('sessions/good-b/record.yaml.asc', await env.sign(env.vendor, planted));
    env.push('hostile content');
    expect(env.git('ls-tree', 'HEAD', 'sessions/hostile-sub/approvals')).toMatch(/^160000 commit /);

    const r = await env.runner();
    logs.push(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    // The new session activated despite its planted record; the vendor-signed file was not taken for the runner's.
    expect(existsSync(join(env.outbox, 'good-b.asc'))).toBe(true);
    expect(r.stderr).toMatch(/session good-b: record\.yaml ignored at [0-9a-f]{12}: RECORD_NOT_RUNNER/);
    // The active session ended, and the runner's signed record replaced the planted one.
    expect(existsSync(join(env.outbox, 'victim.asc'))).toBe(false);
    expect(r.stderr).toMatch(/record victim: RECORD_UNSIGNED: .*replacing it with the runner's record/);
    expect(await runnerRecord(env, 'victim')).toMatchObject({ kind: 'Record', session: 'victim', outcome: 'ended', endReason: 'end requested' });
    // Each hostile session is refused on its own, by code, and nothing was created for it.
    const refused = loopState(env).refused ?? {};
    for (const id of ['hostile-link', 'hostile-sub', 'hostile-huge']) {
      expect(refused[id]?.code, id).toBe('SESSION_UNREADABLE');
      expect(await markerExists(env, id)).toBe(false);
    }
    expect(refused['hostile-link']!.message).toContain('SYMLINK sessions/hostile-link/request.yaml');
    expect(refused['hostile-sub']!.message).toContain('GITLINK sessions/hostile-sub/approvals');
    expect(refused['hostile-huge']!.message).toContain('FILE_TOO_LARGE sessions/hostile-huge/approvals/bob.yaml');
  });

  it('keeps serving afterwards: the next session activates and ends, the hostile ones stay refused', async () => {
    await env.addSession('good-c', { privilege: 'view' });
    let r = await env.runner();
    logs.push(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(env.outbox, 'good-c.asc'))).toBe(true);
    env.endSession('good-b');
    env.endSession('good-c');
    r = await env.runner();
    logs.push(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    for (const id of ['good-b', 'good-c']) expect(await runnerRecord(env, id)).toMatchObject({ session: id, outcome: 'ended' });
    for (const id of ['hostile-link', 'hostile-sub', 'hostile-huge']) expect(await markerExists(env, id)).toBe(false);
    expect(loopState(env).failures ?? {}).toEqual({});
  });
});

describe('a pull-request comment carrying the GitHub channel marker', () => {
  const id = 'gh-planted';
  const { env, gh, comments, runner } = useGitHubRunner(cluster, id, { privilege: 'view', duration: '15m' });
  const vendor = { login: 'vendor', id: 4242, type: 'User' as const };

  it("neither stops the delivery nor burns the id, and is not deleted in place of the runner's comment", async () => {
    gh().addComment(7, `<!-- breakglass-credential:${id} -->\nplanted before the runner delivered`, vendor);
    let r = await runner();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('ALREADY_DELIVERED');
    const ours = comments().filter((c) => c.user.login !== 'vendor');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toMatch(new RegExp(`^<!-- breakglass-credential:${id}:[0-9a-f]{32} -->[\\s\\S]*-----BEGIN PGP MESSAGE-----`));
    // A second planted comment copying the runner's exact marker changes nothing either.
    gh().addComment(7, ours[0]!.body.split('\n')[0]!, vendor);
    env.endSession(id);
    r = await runner();
    expect(r.code, r.stderr).toBe(0);
    expect(comments().map((c) => c.user.login)).toEqual(['vendor', 'vendor']);
    expect(comments().some((c) => c.id === ours[0]!.id)).toBe(false);
    expect((await runnerRecord(env, id)).outcome).toBe('ended');
  });
});
