/**
 * A runner environment with the session gateway (issue 12): a throwaway CA
 * and a serving certificate for 127.0.0.1 made with openssl (the operator
 * brings these in production), an auditor key in the trust file, a policy
 * whose resource requires recording and carries deny rules, and the runner
 * running as a long-lived process (the gateway lives only while it runs).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, NODE } from '../../src/dev/exec.js';
import { generateKeyPair, type GeneratedKey } from '../../src/crypto/openpgp.js';
import { RunnerEnv } from './runner-env.js';

/** A free loopback port (the listener is closed again before the runner binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A CA and a certificate for 127.0.0.1 signed by it, as an operator would provide them. */
export function makeGatewayTls(dir: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=breakglass test gateway CA');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('gateway.key'), '-out', f('gateway.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', f('gateway.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('gateway.crt'), '-days', '2', '-extfile', f('ext.cnf'));
  return { ca: f('ca.crt'), cert: f('gateway.crt'), key: f('gateway.key') };
}

export const DENY_RULES = [
  { verbs: ['delete'], resources: ['namespaces'], reason: 'no namespace is deleted during an incident' },
  { verbs: ['get', 'list', 'watch'], resources: ['secrets'], namespaces: ['kube-system'], reason: 'cluster credentials' },
];

export class GatewayEnv extends RunnerEnv {
  auditor!: GeneratedKey;
  port = 0;
  tls!: { ca: string; cert: string; key: string };
  /** Whether the runner config has the gateway listener (tests of "no gateway" turn it off). */
  listener = true;

  get gatewayUrl(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async setupGateway(): Promise<this> {
    this.auditor = await generateKeyPair({ name: 'sec-team', email: 'sec-team@customer.example', date: new Date('2026-01-01T00:00:00Z') });
    this.port = await freePort();
    this.tls = makeGatewayTls(join(this.root, 'etc', 'tls'));
    await this.setup();
    return this;
  }

  protected override policyResources(maxDuration: string): unknown[] {
    const base = { type: 'kubernetes', privileges: ['cluster-admin', 'view'], maxDuration, network: ['direct'] };
    return [
      { name: 'prod-eu', ...base, recording: 'required', deny: DENY_RULES },
      // Recording required, but this runner gives the resource no gateway: must fail closed.
      { name: 'prod-nogw', ...base, recording: 'required' },
    ];
  }

  protected override runnerResources(): { resources: Record<string, unknown>; extra?: Record<string, unknown> } {
    const base = { kubeconfig: this.runnerKubeconfig, namespace: this.namespace, server: this.cluster.server, certificateAuthority: this.cluster.caFile };
    return {
      resources: { 'prod-eu': { ...base, gateway: { url: this.gatewayUrl, certificateAuthority: this.tls.ca } }, 'prod-nogw': base },
      extra: this.listener ? { gateway: { listen: `127.0.0.1:${this.port}`, certificate: this.tls.cert, key: this.tls.key } } : {},
    };
  }

  override writeRunnerFiles(cap: string): void {
    super.writeRunnerFiles(cap);
    const etc = join(this.root, 'etc');
    writeFileSync(join(etc, 'keys', 'sec-team.asc'), this.auditor.publicKey);
    const trust = { apiVersion: 'breakglass.dev/v1', kind: 'Trust', threshold: 1, approvers: [{ name: 'alice', openpgp: 'keys/alice.asc' }], runner: 'keys/runner.asc', auditors: [{ name: 'sec-team', openpgp: 'keys/sec-team.asc' }] };
    writeFileSync(join(etc, 'trust.yaml'), stringify(trust));
  }

  /** Starts `breakglass runner` as a long-lived process; its stderr is collected in `logs`. */
  startRunner(): LiveRunner {
    return new LiveRunner(spawn(NODE, [BIN, 'runner', '--config', this.configFile], { cwd: this.root, env: { ...process.env, CI: '1', BREAKGLASS_RUNNER_ID: 'runner-a' }, stdio: ['ignore', 'pipe', 'pipe'] }));
  }
}

/** A running runner process and what it has logged. */
export class LiveRunner {
  logs = '';
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];
  constructor(child: ChildProcess) {
    this.child = child;
    const take = (b: Buffer) => {
      this.logs += b.toString('utf8');
      for (const w of this.waiters) w();
    };
    child.stderr!.on('data', take);
    child.stdout!.on('data', take);
  }

  /** Resolves when the log matches `re` (bounded: rejects after `ms`, the test then fails with the log). */
  waitFor(re: RegExp, ms = 90_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (re.test(this.logs)) {
          this.waiters = this.waiters.filter((w) => w !== check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => reject(new Error(`runner never logged ${re}; log:\n${this.logs}`)), ms);
      this.waiters.push(check);
      check();
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}
