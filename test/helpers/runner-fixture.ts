/**
 * A complete, real runner environment for integration tests and benchmarks: real OpenPGP
 * keys (approver, vendor, runner), a bare git remote with an approved policy,
 * a trust file and runner config outside the repository, and a fresh runner
 * namespace on the real API server. Times are real: the runner uses its clock.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { sha256Digest } from '../../src/core/digest.js';
import { formatTime } from '../../src/core/duration.js';
import { generateKeyPair, readPrivateKey, signDetached, type GeneratedKey } from '../../src/crypto/openpgp.js';
import type { ClusterInfo } from '../../src/dev/local-cluster.js';
import { binary, type CliResult } from '../../src/dev/exec.js';

export { binary, type CliResult };

export const REPOSITORY = 'github.com/customer/access';

const y = (doc: unknown) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }).replace(/^nonce: (\w+)$/m, 'nonce: "$1"');
const nonce = () => randomBytes(16).toString('hex');

export interface SessionOptions {
  privilege?: string;
  duration?: string;
  /** Default prod-eu, over the direct network. */
  resource?: string;
  network?: string;
  command?: { name: string; inputs: Record<string, string> };
  /** Leave the approval unsigned, or sign other bytes than the file holds. */
  tamper?: 'unsigned' | 'wrong-bytes' | 'request-changed';
}

export class RunnerEnv {
  readonly root = mkdtempSync(join(tmpdir(), 'bg-runner-'));
  readonly remote = join(this.root, 'remote.git');
  readonly work = join(this.root, 'work');
  readonly configFile = join(this.root, 'etc', 'runner.yaml');
  readonly outbox = join(this.root, 'outbox');
  readonly state = join(this.root, 'state');
  readonly namespace = `bg-rt-${randomBytes(3).toString('hex')}`;
  alice!: GeneratedKey;
  vendor!: GeneratedKey;
  runnerKey!: GeneratedKey;
  readonly cluster: ClusterInfo;
  /** The runner config's `delivery` (default: the outbox directory). */
  delivery?: unknown;
  /** The kubeconfig the runner uses (admin unless a test swaps in a restricted one). */
  runnerKubeconfig: string;
  constructor(cluster: ClusterInfo) {
    this.cluster = cluster;
    this.runnerKubeconfig = cluster.kubeconfig;
  }

  admin(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.cluster.kubeconfig);
    return kc;
  }

  git(...args: string[]): string {
    return execFileSync('git', ['-C', this.work, ...args], {
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' },
    });
  }

  write(rel: string, content: string): string {
    const full = join(this.work, rel);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    return sha256Digest(Buffer.from(content));
  }

  async sign(key: GeneratedKey, body: string): Promise<string> {
    return signDetached(await readPrivateKey(key.privateKey), Buffer.from(body), new Date(Date.now() - 30_000));
  }

  push(message: string): void {
    this.git('add', '-A');
    this.git('commit', '-q', '-m', message);
    // The runner pushes records too: rebase on them first (empty remote on the first push).
    if (this.hasRemoteMain()) this.git('pull', '-q', '--rebase', 'origin', 'main');
    this.git('push', '-q', 'origin', 'HEAD:main');
  }

  async setup(opts: { maxDuration?: string; cap?: string } = {}): Promise<this> {
    const date = new Date('2026-01-01T00:00:00Z');
    this.alice = await generateKeyPair({ name: 'alice', email: 'alice@customer.example', date });
    this.vendor = await generateKeyPair({ name: 'vendor', email: 'oncall@vendor.example', date });
    this.runnerKey = await generateKeyPair({ name: 'runner', email: 'runner@customer.example', date });
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', this.remote]);
    execFileSync('git', ['clone', '-q', this.remote, this.work], { stdio: 'ignore' });
    this.git('checkout', '-q', '-b', 'main');
    await this.seedPolicy(opts.maxDuration ?? '2h');
    this.writeRunnerFiles(opts.cap ?? '4h');
    if (this.usesCluster())
      await this.admin()
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: this.namespace } } });
    return this;
  }

  /** False for a runner with no cluster at all (file markers): no namespace is made or removed. */
  protected usesCluster(): boolean {
    return true;
  }

  /** A policy like the seeded one (vendor requesters and key, alice approves) over `resources`. */
  policyYaml(name: string, resources: unknown[]): string {
    return y({
      apiVersion: 'breakglass.dev/v1',
      kind: 'Policy',
      metadata: { name },
      spec: {
        requesters: ['*@vendor.example'],
        recipients: [this.vendor.fingerprint],
        approvals: { required: 1, approvers: ['alice'], allowSelfApproval: false },
        requestExpiry: '4h',
        reason: { pattern: '^INC-[0-9]+', minLength: 10 },
        resources,
      },
    });
  }

  private async seedPolicy(maxDuration: string): Promise<void> {
    const policy = this.policyYaml('production', this.policyResources(maxDuration));
    const digest = this.write('policies/production.yaml', policy);
    const pa = y({
      apiVersion: 'breakglass.dev/v1',
      kind: 'PolicyApproval',
      policy: 'production',
      digest,
      repository: REPOSITORY,
      approver: 'alice',
      signed: formatTime(Date.now() - 60_000),
      nonce: nonce(),
    });
    this.write('policies/approvals/production/alice.yaml', pa);
    this.write('policies/approvals/production/alice.yaml.asc', await this.sign(this.alice, pa));
    // The vendor's public key in the repository: usable only because the runner checks its fingerprint against the signed request.
    this.write(`policies/keys/${this.vendor.fingerprint}.asc`, this.vendor.publicKey);
    this.push('policy');
  }

  /** The policy's resources; subclasses add others (and write the files they name). */
  protected policyResources(maxDuration: string): unknown[] {
    return [{ name: 'prod-eu', type: 'kubernetes', privileges: ['cluster-admin', 'view', `edit:${this.namespace}`], maxDuration, network: ['direct'] }];
  }

  /** The runner config's resources and any further top-level keys (e.g. `commands`). */
  protected runnerResources(): { resources: Record<string, unknown>; extra?: Record<string, unknown> } {
    return { resources: { 'prod-eu': { kubeconfig: this.runnerKubeconfig, namespace: this.namespace, server: this.cluster.server, certificateAuthority: this.cluster.caFile } } };
  }

  writeRunnerFiles(cap: string): void {
    const etc = dirname(this.configFile);
    mkdirSync(join(etc, 'keys'), { recursive: true });
    writeFileSync(join(etc, 'keys', 'alice.asc'), this.alice.publicKey);
    writeFileSync(join(etc, 'keys', 'runner.sec.asc'), this.runnerKey.privateKey, { mode: 0o600 });
    writeFileSync(join(etc, 'keys', 'runner.asc'), this.runnerKey.publicKey);
    writeFileSync(join(etc, 'trust.yaml'), y({ apiVersion: 'breakglass.dev/v1', kind: 'Trust', threshold: 1, approvers: [{ name: 'alice', openpgp: 'keys/alice.asc' }], runner: 'keys/runner.asc' }));
    writeFileSync(this.configFile, this.configYaml(cap));
  }

  configYaml(cap = '4h'): string {
    const { resources, extra } = this.runnerResources();
    return y({
      apiVersion: 'breakglass.dev/v1',
      kind: 'RunnerConfig',
      repository: { url: this.remote, branch: 'main', name: REPOSITORY },
      trust: 'trust.yaml',
      signingKey: 'keys/runner.sec.asc',
      pollInterval: '1s',
      state: this.state,
      caps: { maxDuration: cap },
      delivery: this.delivery ?? { directory: this.outbox },
      ...extra,
      resources,
    });
  }

  /** Uses another kubeconfig for the runner (e.g. one with only the deploy/ RBAC). */
  useKubeconfig(file: string, cap = '4h'): void {
    this.runnerKubeconfig = file;
    writeFileSync(this.configFile, this.configYaml(cap));
  }

  requestYaml(id: string, o: SessionOptions): string {
    return y({
      apiVersion: 'breakglass.dev/v1',
      kind: 'Request',
      metadata: { id, requester: 'oncall@vendor.example', created: formatTime(Date.now() - 60_000) },
      spec: {
        reason: `INC-${id.length}: emergency access for runner tests`,
        resource: o.resource ?? 'prod-eu',
        privilege: o.privilege ?? 'view',
        duration: o.duration ?? '1h',
        network: o.network ?? 'direct',
        recipient: this.vendor.fingerprint,
        ...(o.command ? { command: o.command } : {}),
      },
    });
  }

  /** Adds an approved (or deliberately broken) session and pushes it to the default branch. */
  async addSession(id: string, o: SessionOptions = {}): Promise<void> {
    const digest = this.write(`sessions/${id}/request.yaml`, this.requestYaml(id, o));
    const approval = y({
      apiVersion: 'breakglass.dev/v1',
      kind: 'Approval',
      session: id,
      request: digest,
      repository: REPOSITORY,
      approver: 'alice',
      decision: 'approve',
      signed: formatTime(Date.now() - 30_000),
      expires: formatTime(Date.now() + 3600_000),
      nonce: nonce(),
    });
    this.write(`sessions/${id}/approvals/alice.yaml`, approval);
    if (o.tamper !== 'unsigned') this.write(`sessions/${id}/approvals/alice.yaml.asc`, await this.sign(this.alice, o.tamper === 'wrong-bytes' ? approval.replace('approve', 'approve ') : approval));
    if (o.tamper === 'request-changed') this.write(`sessions/${id}/request.yaml`, this.requestYaml(id, { ...o, privilege: 'cluster-admin', duration: '2h' }));
    this.push(`session ${id}`);
  }

  endSession(id: string): void {
    this.write(`sessions/${id}/end.yaml`, y({ apiVersion: 'breakglass.dev/v1', kind: 'End', session: id, by: 'oncall@vendor.example', at: formatTime(Date.now()), reason: 'done' }));
    this.push(`end ${id}`);
  }

  runner(args: string[] = ['--once'], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return binary(['runner', '--config', this.configFile, ...args], { cwd: this.root, env: { BREAKGLASS_RUNNER_ID: 'runner-a', ...env } });
  }

  /** The vendor's `receive`, trusting only this runner's key (the key file by default; `runnerKey` overrides, e.g. a fingerprint). */
  receive(id: string, out = `${id}.kubeconfig`, runnerKey = join('etc', 'keys', 'runner.asc'), extra: string[] = []): Promise<CliResult> {
    writeFileSync(join(this.root, 'vendor.sec.asc'), this.vendor.privateKey, { mode: 0o600 });
    return binary(['receive', id, '--key', 'vendor.sec.asc', '--runner-key', runnerKey, '--from', this.outbox, '--out', out, ...extra], { cwd: this.root });
  }

  hasRemoteMain(): boolean {
    try {
      execFileSync('git', ['-C', this.remote, 'rev-parse', '--verify', '-q', 'refs/heads/main'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  /** The remote's file at main, or undefined. */
  remoteFile(path: string): string | undefined {
    try {
      return execFileSync('git', ['-C', this.remote, 'show', `main:${path}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return undefined;
    }
  }

  /** Every byte of git history in the remote, for "the token is never in git". */
  remoteHistory(): string {
    return execFileSync('git', ['-C', this.remote, 'log', '-p', '--all', '--binary'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  }

  kubeconfigToken(id: string): string {
    return /token: (\S+)/.exec(readFileSync(join(this.root, `${id}.kubeconfig`), 'utf8'))![1]!;
  }

  async cleanup(): Promise<void> {
    if (!this.usesCluster()) return;
    await this.admin()
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: this.namespace })
      .catch(() => undefined);
  }
}
