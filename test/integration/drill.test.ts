/**
 * `breakglass drill` with the real binary against the real API server: a
 * passing rehearsal (timed steps, a signed drill record, nothing left behind,
 * the production repository and state untouched), and one that fails because
 * the configured namespace does not exist.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateKeyPair, type GeneratedKey } from '../../src/crypto/openpgp.js';
import { binary } from '../helpers/cli.js';
import { kubectl } from '../helpers/kubectl.js';
import { RunnerEnv } from '../helpers/runner-env.js';

const cluster = inject('cluster');

interface Report {
  ok: boolean;
  session: string;
  failedStep?: string;
  steps: { step: string; ok: boolean; seconds: number; detail: string }[];
  record?: { drill: boolean; outcome: string; revocation?: string; signedBy: string };
}

const STEPS = ['sandbox', 'approve', 'activate', 'use', 'end', 'revoke', 'record', 'audit', 'cleanup'];

/** Every ref and object of a repository: "nothing was written" means this does not change. */
function snapshot(bareRepo: string): string {
  const git = (...a: string[]) => execFileSync('git', ['-C', bareRepo, ...a], { encoding: 'utf8' });
  return git('for-each-ref') + git('count-objects', '-v');
}

async function leftovers(session: string): Promise<string> {
  const r = await kubectl(cluster.kubeconfig, 'get', 'serviceaccounts,configmaps,rolebindings,clusterrolebindings', '-A', '-l', `breakglass.dev/session=${session}`, '-o', 'name');
  expect(r.ok, r.out).toBe(true);
  return r.out.trim();
}

describe('breakglass drill', () => {
  const env = new RunnerEnv(cluster);
  let drillKey: GeneratedKey;
  beforeAll(async () => {
    await env.setup();
    drillKey = await generateKeyPair({ name: 'drill', email: 'drill@customer.example' });
    writeFileSync(join(env.root, 'etc', 'keys', 'drill.sec.asc'), drillKey.privateKey, { mode: 0o600 });
  });
  afterAll(() => env.cleanup());

  /** The production runner config plus a drill section; `namespace` overrides the resource's. */
  function drillConfig(name: string, namespace?: string): string {
    const config = parse(env.configYaml()) as { resources: { 'prod-eu': { namespace: string } }; drill?: unknown };
    if (namespace) config.resources['prod-eu'].namespace = namespace;
    config.drill = { key: 'keys/drill.sec.asc', resource: 'prod-eu', privilege: 'view', duration: '10m' };
    const file = join(env.root, 'etc', name);
    writeFileSync(file, stringify(config));
    return file;
  }

  describe('when the cluster and the runner work', () => {
    let report: Report;
    let text: string;
    const before = { repo: '', state: false };
    beforeAll(async () => {
      before.repo = snapshot(env.remote);
      const file = drillConfig('drill.yaml');
      const json = await binary(['drill', '--config', file, '--json'], { cwd: env.root });
      expect(json.code, json.stderr + json.stdout).toBe(0);
      report = JSON.parse(json.stdout) as Report;
      const plain = await binary(['drill', '--config', file], { cwd: env.root });
      expect(plain.code, plain.stderr + plain.stdout).toBe(0);
      text = plain.stdout;
    });

    it('reports every step, each with a time', () => {
      expect(report.ok).toBe(true);
      expect(report.steps.map((s) => s.step)).toEqual(STEPS);
      for (const s of report.steps) {
        expect(s.ok, `${s.step}: ${s.detail}`).toBe(true);
        // A time is there and is a number (JSON has no NaN or Infinity: a broken clock would arrive as null).
        expect(Number.isFinite(s.seconds), `${s.step}: seconds ${JSON.stringify(s.seconds)}`).toBe(true);
      }
      for (const step of STEPS) expect(text).toMatch(new RegExp(`^  ${step}\\s+.*\\s\\d+\\.\\d\\d  ok`, 'm'));
      expect(text).toMatch(/approval seen -> credential delivered/);
      expect(text).toMatch(/end -> revocation proven/);
      expect(text).toMatch(/^drill passed in/m);
    });

    it('used the credential: view reads and cannot write', () => {
      expect(report.steps.find((s) => s.step === 'use')!.detail).toMatch(/list pods in \S+: allowed, create configmaps in \S+: refused/);
    });

    it('read back a record marked drill: true and signed by the runner key', () => {
      expect(report.record).toEqual({ drill: true, outcome: 'ended', revocation: 'unauthenticated', signedBy: env.runnerKey.fingerprint });
    });

    it('left nothing in the cluster', async () => {
      expect(await leftovers(report.session)).toBe('');
    });

    it('wrote nothing to the production repository, its state or its outbox', () => {
      expect(snapshot(env.remote)).toBe(before.repo);
      expect(existsSync(env.state)).toBe(false);
      expect(existsSync(env.outbox)).toBe(false);
    });
  });

  describe("when the configured resource's namespace does not exist", () => {
    it('exits 1 naming the activate step, and leaves nothing behind', async () => {
      const r = await binary(['drill', '--config', drillConfig('drill-missing.yaml', 'bg-drill-missing'), '--json'], { cwd: env.root });
      expect(r.code, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout) as Report;
      expect(report.ok).toBe(false);
      expect(report.failedStep).toBe('activate');
      expect(report.steps.find((s) => s.step === 'activate')!.detail).toMatch(/no credential.*namespaces "bg-drill-missing" not found/);
      expect(report.steps.at(-1)).toMatchObject({ step: 'cleanup', ok: true });
      expect(await leftovers(report.session)).toBe('');
    });
  });

  describe('when the config has no drill section', () => {
    it('exits 2 and says what to add', async () => {
      const r = await binary(['drill', '--config', env.configFile], { cwd: env.root });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no drill: section/);
    });
  });
});
