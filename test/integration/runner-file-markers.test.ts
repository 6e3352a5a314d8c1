/**
 * A runner with no cluster at all: a command-credential resource whose
 * markers and claims are files in the state directory. Through the real
 * binary with KUBECONFIG pointing nowhere: activation, delivery, receive,
 * end, revoke, record; "once" across a SIGKILL between marker and delivery;
 * and two runners on one state directory racing for the same session.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dbPasswordCommand } from '../helpers/provider-env.js';
import { RunnerEnv } from '../helpers/runner-env.js';

const cluster = inject('cluster');

/** The credential: a random password, and a line in minted.log per run (so a test can count mints). */
const MINT = `#!/bin/sh
echo "$1 $BREAKGLASS_SESSION" >> "$(dirname "$0")/minted.log"
printf 'fp-%s-%s' "$1" "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')"
`;
const REVOKE = `#!/bin/sh
echo "$1 $BREAKGLASS_SESSION" >> "$(dirname "$0")/revoked.log"
`;

class FileMarkerEnv extends RunnerEnv {
  readonly commandsDir = join(this.root, 'etc', 'commands');

  protected override usesCluster(): boolean {
    return false;
  }

  protected override policyResources(maxDuration: string): unknown[] {
    const command = dbPasswordCommand(this.commandsDir, { mint: MINT, revoke: REVOKE });
    return [{ name: 'orders-db', type: 'command', privileges: ['read-write'], maxDuration, network: ['direct'], commands: [command] }];
  }

  protected override runnerResources() {
    return { resources: { 'orders-db': { markers: 'file' } }, extra: { commands: { path: this.commandsDir, timeout: '10s' } } };
  }

  log(name: 'minted' | 'revoked'): string[] {
    const file = join(this.commandsDir, `${name}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  }

  /** Every version of a session's marker, oldest first, as the runner wrote them. */
  markerVersions(id: string): { phase: string; runner: string }[] {
    const dir = join(this.state, 'markers', 'orders-db');
    return readdirSync(dir)
      .filter((f) => f.startsWith(`${id}.v`))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  }

  /** The runner with no cluster to find: KUBECONFIG names nothing, and no in-cluster service account. */
  once(runnerId = 'runner-a', extra: NodeJS.ProcessEnv = {}) {
    return this.runner(['--once'], { KUBECONFIG: join(this.root, 'no-such.kubeconfig'), KUBERNETES_SERVICE_HOST: '', BREAKGLASS_RUNNER_ID: runnerId, ...extra });
  }
}

const session = (id: string) => ({ resource: 'orders-db', privilege: 'read-write', command: { name: 'db-password', inputs: { database: 'orders' } }, duration: '20m' });

describe('a command credential with file markers and no cluster', () => {
  const env = new FileMarkerEnv(cluster);
  const delivered = (id: string) => existsSync(join(env.outbox, `${id}.asc`));
  const record = (id: string) => parse(env.remoteFile(`sessions/${id}/record.yaml`) ?? 'null');
  beforeAll(() => env.setup());
  afterAll(() => env.cleanup());

  it('passes --check without any cluster', async () => {
    const r = await env.runner(['--check'], { KUBECONFIG: join(env.root, 'no-such.kubeconfig') });
    expect(r.code, r.stderr).toBe(0);
  });

  it('activates, delivers once, ends, revokes and records, and never activates the id again', async () => {
    const id = 'fm-e2e';
    await env.addSession(id, session(id));
    const r = await env.once();
    expect(r.code, r.stderr).toBe(0);
    expect(delivered(id)).toBe(true);
    expect(env.markerVersions(id).map((v) => v.phase)).toEqual(['activating', 'active', 'active']);
    const got = await env.receive(id, `${id}.credential`);
    expect(got.code, got.stderr).toBe(0);
    const credential = readFileSync(join(env.root, `${id}.credential`), 'utf8');
    expect(credential).toMatch(/^fp-orders-[0-9a-f]{16}$/);

    env.endSession(id);
    expect((await env.once()).code).toBe(0);
    expect(env.log('revoked')).toEqual([`orders ${id}`]);
    expect(delivered(id)).toBe(false);
    expect(record(id)).toMatchObject({ outcome: 'ended', revocation: { method: 'command', result: 'revoked' } });
    expect(env.markerVersions(id).at(-1)!.phase).toBe('ended');
    // The credential is nowhere in clear: not in the state directory (markers, claims, records), not in git.
    expect(filesContaining(env.state, credential)).toEqual([]);
    expect(env.remoteHistory()).not.toContain(credential);

    // A rewritten history brings the request back: the file claim and marker still say "once".
    env.git('reset', '-q', '--hard', env.git('rev-list', '--max-parents=0', 'HEAD').trim());
    env.git('push', '-q', '--force', 'origin', 'HEAD:main');
    await env.addSession(id, session(id));
    const again = await env.once();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(new RegExp(`session ${id}: marker created`));
    expect(delivered(id)).toBe(false);
    expect(env.log('minted').filter((l) => l.endsWith(id))).toHaveLength(1);
  });

  it('a SIGKILL between marker and delivery rolls back on restart: revoked, recorded failed, never delivered', async () => {
    const id = 'fm-killed';
    await env.addSession(id, session(id));
    const killed = await env.once('runner-a', { BREAKGLASS_FAULT_KILL_AFTER: 'credential' });
    expect(killed.code).not.toBe(0);
    expect(env.markerVersions(id).map((v) => v.phase)).toEqual(['activating']);
    expect(env.log('minted').filter((l) => l.endsWith(id))).toHaveLength(1);
    expect(delivered(id)).toBe(false);

    const r = await env.once();
    expect(r.code, r.stderr).toBe(0);
    expect(delivered(id)).toBe(false);
    expect(env.log('revoked')).toContain(`orders ${id}`);
    expect(env.markerVersions(id).at(-1)!.phase).toBe('failed');
    expect(record(id)).toMatchObject({ outcome: 'failed', failure: { step: 'interrupted', code: 'RUNNER_INTERRUPTED' } });
    expect((await env.once()).code).toBe(0);
    expect(env.log('minted').filter((l) => l.endsWith(id))).toHaveLength(1);
  });

  it('two runners on one state directory: exactly one activation, one mint, one delivery', async () => {
    const id = 'fm-race';
    await env.addSession(id, session(id));
    const [a, b] = await Promise.all([env.once('runner-a'), env.once('runner-b')]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    expect(env.log('minted').filter((l) => l.endsWith(id))).toHaveLength(1);
    expect(delivered(id)).toBe(true);
    const versions = env.markerVersions(id);
    expect(versions.filter((v) => v.phase === 'activating')).toHaveLength(1);
    expect(new Set(versions.map((v) => v.runner)).size).toBe(1);
  });
});

/** Files under `dir` whose bytes contain `text`. */
function filesContaining(dir: string, text: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => readFileSync(f).includes(text));
}
