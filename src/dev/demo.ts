/**
 * `breakglass demo`: the whole signed lifecycle, end to end, on this machine.
 *
 * In a temporary directory: a bare git remote, a customer clone and a vendor
 * clone; keys for the vendor, two approvers and the runner; a policy approved
 * by signature; the vendor's request on a branch; validation; two signed
 * approvals; the merge; the runner against a real kube-apiserver on loopback;
 * `receive`; kubectl with the delivered kubeconfig (allowed to read, refused
 * to write); the end; teardown with revocation proof; a signed record; and
 * `audit` with its HTML report. Every step runs the real `breakglass` binary,
 * and is narrated with its timing. Everything is removed at the end.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeYaml } from '../core/yaml-write.js';
import { startLocalCluster, type LocalCluster } from './local-cluster.js';
import { binary, run, type CliResult } from './exec.js';
import { messageOf } from '../crypto/error-parts.js';

const REPOSITORY = 'github.com/customer/access';
const ID = 'inc-4411-prod-crashloop';

export interface DemoIo {
  out(line: string): void;
  keep: boolean;
  /** Aborts the demo (Ctrl-C): the current step stops, everything is cleaned up. */
  signal?: AbortSignal;
}

type Run = CliResult;

/** Runs a command for the demo (argv only); `env` adds to the environment. */
function exec(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return run(cmd, args, { cwd, env });
}

const who = (name: string, email: string): NodeJS.ProcessEnv => ({ GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email });
const VENDOR = who('Vendor on-call', 'oncall@vendor.example');
const CUSTOMER = who('Alice (customer)', 'alice@customer.example');

class Demo {
  private n = 0;
  private readonly total = 12;
  readonly io: DemoIo;
  readonly root: string;
  constructor(io: DemoIo, root: string) {
    this.io = io;
    this.root = root;
  }

  /** Narrates one step: its title, what it ran, and how long it took. */
  async step<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.io.signal?.throwIfAborted();
    this.n++;
    this.io.out(`\n[${this.n}/${this.total}] ${title}`);
    const t0 = performance.now();
    const r = await fn();
    this.io.out(`      done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    return r;
  }

  note(line: string): void {
    this.io.out(`      ${line}`);
  }

  /** Runs the real binary; shows the command and the lines `show` selects; fails the demo unless `expect` matches. */
  async bg(args: string[], cwd: string, opts: { env?: NodeJS.ProcessEnv; expect?: number; show?: (r: Run) => string[] } = {}): Promise<Run> {
    this.io.signal?.throwIfAborted();
    this.io.out(
      `      $ breakglass ${args
        .map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a))
        .join(' ')
        .replaceAll(this.root, '$DEMO')}`,
    );
    const r = await binary(args, { cwd, env: opts.env });
    if (r.code !== (opts.expect ?? 0)) throw new Error(`breakglass ${args[0]} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    for (const line of opts.show?.(r) ?? []) this.note(`  ${line.replaceAll(this.root, '$DEMO')}`);
    return r;
  }

  async git(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
    this.io.signal?.throwIfAborted();
    const r = await exec('git', args, cwd, env);
    if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  }
}

function lines(text: string, pattern: RegExp, max = 6): string[] {
  return text
    .split('\n')
    .filter((l) => pattern.test(l))
    .slice(0, max)
    .map((l) => l.trim());
}

async function kubectl(kubeconfig: string, args: string[]): Promise<Run> {
  return exec('kubectl', ['--kubeconfig', kubeconfig, ...args], process.cwd());
}

async function fingerprint(keyDir: string, name: string): Promise<string> {
  const text = await readFile(join(keyDir, `${name}.fpr`), 'utf8').catch(() => '');
  return text.trim();
}

/** The exit code after Ctrl-C: an operational stop (the CLI's 2), after cleaning up. */
export const INTERRUPTED = 2;

/** Runs the demo; resolves with the process exit code. */
export async function runDemo(io: DemoIo): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), 'breakglass-demo-'));
  const d = new Demo(io, root);
  let cluster: LocalCluster | undefined;
  const t0 = performance.now();
  io.out('breakglass demo: consented, time-boxed, signed emergency access, end to end, locally');
  io.out(`(working in ${root})`);
  try {
    cluster = await d.step('A real Kubernetes API server on loopback (etcd + kube-apiserver 1.20.2)', async () => {
      await ensureKubectl(d);
      const c = await startLocalCluster({ log: (s) => d.note(s), ...(io.signal ? { signal: io.signal } : {}) });
      await exec('kubectl', ['--kubeconfig', c.kubeconfig, 'create', 'namespace', 'breakglass-system'], root);
      await exec('kubectl', ['--kubeconfig', c.kubeconfig, 'create', 'namespace', 'payments'], root);
      return c;
    });
    await scenario(d, cluster);
    io.out(`\nThe whole lifecycle took ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
    return 0;
  } catch (e) {
    if (io.signal?.aborted) {
      io.out('\ninterrupted: stopping etcd and the API server, removing the keys and temporary directories');
      return INTERRUPTED;
    }
    io.out(`\ndemo FAILED: ${messageOf(e)}`);
    return 1;
  } finally {
    await cluster?.stop().catch(() => undefined);
    if (io.keep) io.out(`kept ${root}`);
    else await rm(root, { recursive: true, force: true });
  }
}

async function scenario(d: Demo, cluster: LocalCluster): Promise<void> {
  const root = d.root;
  const keys = join(root, 'keys');
  const etc = join(root, 'customer-account');
  const remote = join(root, 'access.git');
  const customer = join(root, 'customer');
  const vendor = join(root, 'vendor');
  const outbox = join(etc, 'outbox');

  const fpr: Record<string, string> = {};
  await d.step('Keys: the vendor, two customer approvers (alice, bob), and the runner', async () => {
    for (const [name, email] of [
      ['vendor', 'oncall@vendor.example'],
      ['alice', 'alice@customer.example'],
      ['bob', 'bob@customer.example'],
      ['runner', 'runner@customer.example'],
    ]) {
      const r = await d.bg(['keygen', '--name', name!, '--email', email!, '--out', keys], root);
      fpr[name!] = /([0-9A-F]{40})/.exec(r.stdout)?.[1] ?? (await fingerprint(keys, name!));
      d.note(`  ${name!.padEnd(7)} ${fpr[name!]!.replace(/(.{4})/g, '$1 ').trim()}`);
    }
  });

  await d.step('The customer sets up the access repository and approves its policy by signature', async () => {
    await d.git(root, CUSTOMER, 'init', '-q', '--bare', '-b', 'main', remote);
    await d.bg(['init', customer], root, { show: (r) => lines(r.stdout, /wrote policies/) });
    await d.git(customer, CUSTOMER, 'remote', 'add', 'origin', remote);
    await writeFile(join(customer, 'policies/production.yaml'), demoPolicy(fpr.vendor!));
    await mkdir(join(customer, 'policies/keys'), { recursive: true });
    // The vendor's public key: usable only because the runner checks it against the fingerprint in the signed request.
    await writeFile(join(customer, `policies/keys/${fpr.vendor}.asc`), await readFile(join(keys, 'vendor.asc')));
    await d.git(customer, CUSTOMER, 'add', '-A');
    await d.git(customer, CUSTOMER, 'commit', '-q', '-m', 'Access policy for prod-eu');
    for (const a of ['alice', 'bob']) {
      await d.bg(['approve', '--policy', 'production', '--key', join(keys, `${a}.sec.asc`), '--approver', a, '--repository', REPOSITORY, '--commit', '--yes'], customer, { env: CUSTOMER });
    }
    await d.git(customer, CUSTOMER, 'push', '-q', 'origin', 'main');
    await writeRunnerConfig(etc, keys, remote, outbox, cluster);
    d.note('  trust file and runner config kept outside the repository, in the customer account');
  });

  await d.step('The vendor opens a request on a branch (a pull request)', async () => {
    await d.git(root, VENDOR, 'clone', '-q', remote, vendor);
    await d.git(vendor, VENDOR, 'checkout', '-q', '-b', `request/${ID}`);
    await d.bg(
      [
        'request',
        'new',
        '--id',
        ID,
        '--resource',
        'prod-eu',
        '--privilege',
        'view',
        '--duration',
        '30m',
        '--network',
        'direct',
        '--reason',
        'INC-4411: api pods crash-looping after cert rotation',
        '--requester',
        'oncall@vendor.example',
        '--recipient',
        fpr.vendor!,
      ],
      vendor,
      { show: (r) => lines(r.stdout, /wrote/) },
    );
    await d.bg(['validate'], vendor, { show: (r) => lines(r.stdout, /ok/) });
    await d.git(vendor, VENDOR, 'add', '-A');
    await d.git(vendor, VENDOR, 'commit', '-q', '-m', `Request ${ID}`);
    await d.git(vendor, VENDOR, 'push', '-q', 'origin', `request/${ID}`);
  });

  await d.step('The customer reads the approval view, and two approvers sign', async () => {
    await d.git(customer, CUSTOMER, 'fetch', '-q', 'origin');
    await d.git(customer, CUSTOMER, 'checkout', '-q', '-b', `request/${ID}`, `origin/request/${ID}`);
    await d.bg(['show', ID, '--repository', REPOSITORY], customer, { show: (r) => lines(r.stdout, /^\s+(Resource|Privilege|Duration|Reason|Recipient key|Policy|Approvals)\s/) });
    for (const a of ['alice', 'bob']) {
      await d.bg(['approve', ID, '--key', join(keys, `${a}.sec.asc`), '--approver', a, '--repository', REPOSITORY, '--expires', '1h', '--commit', '--yes'], customer, {
        env: who(a, `${a}@customer.example`),
      });
    }
    await d.bg(['verify', ID, '--trust', join(etc, 'trust.yaml'), '--repository', REPOSITORY], customer, { show: (r) => lines(r.stdout + r.stderr, /approved|of/, 3) });
  });

  await d.step('The pull request merges to main', async () => {
    await d.git(customer, CUSTOMER, 'checkout', '-q', 'main');
    await d.git(customer, CUSTOMER, 'merge', '-q', '--no-ff', '-m', `Merge request/${ID}`, `request/${ID}`);
    await d.git(customer, CUSTOMER, 'push', '-q', 'origin', 'main');
    d.note(`  main is now ${await d.git(customer, CUSTOMER, 'rev-parse', '--short', 'HEAD')}`);
  });

  await d.step('The runner, inside the customer account, verifies against its own trust file and activates', async () => {
    await d.bg(['runner', '--config', join(etc, 'runner.yaml'), '--once'], etc, { show: (r) => lines(r.stdout + r.stderr, /activ|deliver|expires/i) });
  });

  const kubeconfig = join(vendor, `${ID}.kubeconfig`);
  await d.step('The vendor receives the sealed credential, checks the runner signed it, and uses kubectl with it', async () => {
    // The customer told the vendor the runner key's fingerprint out of band; a delivery signed by any other key is refused.
    await d.bg(['receive', ID, '--key', join(keys, 'vendor.sec.asc'), '--runner-key', fpr.runner!, '--from', outbox, '--out', kubeconfig], vendor, {
      show: (r) => lines(r.stdout, /verified|wrote|expires/),
    });
    const read = await kubectl(kubeconfig, ['get', 'namespaces', '-o', 'name']);
    d.note(`  $ kubectl get namespaces        -> ${read.code === 0 ? `allowed (${read.stdout.trim().split('\n').length} namespaces)` : `FAILED: ${read.stderr.trim()}`}`);
    const write = await kubectl(kubeconfig, ['create', 'namespace', 'vendor-was-here']);
    d.note(`  $ kubectl create namespace ...  -> ${write.code !== 0 ? 'refused (view is read-only)' : 'ALLOWED (unexpected)'}`);
    if (read.code !== 0 || write.code === 0) throw new Error('the delivered credential did not grant exactly view');
  });

  await d.step('The vendor ends the session early', async () => {
    await d.git(vendor, VENDOR, 'checkout', '-q', 'main');
    await d.git(vendor, VENDOR, 'pull', '-q', 'origin', 'main');
    await d.bg(['end', ID, '--reason', 'fixed: rolled back the cert bundle', '--commit'], vendor, { env: VENDOR });
    await d.git(vendor, VENDOR, 'push', '-q', 'origin', 'main');
  });

  await d.step('The runner tears down, proves revocation, and pushes a signed record', async () => {
    await d.bg(['runner', '--config', join(etc, 'runner.yaml'), '--once'], etc, { show: (r) => lines(r.stdout + r.stderr, /teardown|revok|record|ended/i) });
    const after = await kubectl(kubeconfig, ['get', 'namespaces']);
    d.note(`  $ kubectl get namespaces        -> ${after.code !== 0 ? 'refused: the token is revoked' : 'STILL ALLOWED'}`);
    if (after.code === 0) throw new Error('the token still works after teardown');
  });

  await d.step('An auditor verifies the whole history from git and the trust file alone', async () => {
    await d.git(customer, CUSTOMER, 'pull', '-q', 'origin', 'main');
    const report = join(root, 'audit.html');
    await d.bg(['audit', '--trust', join(etc, 'trust.yaml'), '--repo', customer, '--repository', REPOSITORY, '--html', report], customer, { show: (r) => lines(r.stdout + r.stderr, /.+/, 4) });
    d.note(`  HTML report: ${report}${d.io.keep ? '' : ' (removed with the demo directory; use --keep to keep it)'}`);
  });

  await d.step('Nothing is left behind in the cluster', async () => {
    const left = await kubectl(cluster.kubeconfig, ['get', 'serviceaccounts,clusterrolebindings,rolebindings', '-A', '-l', 'app.kubernetes.io/managed-by=breakglass', '-o', 'name']);
    d.note(`  objects labelled managed-by=breakglass: ${left.stdout.trim() ? left.stdout.trim().split('\n').length : 0}`);
    if (left.stdout.trim()) throw new Error(`left behind:\n${left.stdout}`);
  });
}

/** kubectl is how a vendor uses the credential; install Debian's when the machine has none. */
async function ensureKubectl(d: Demo): Promise<void> {
  if ((await exec('sh', ['-c', 'command -v kubectl'], d.root)).code === 0) return;
  d.note('installing kubectl (Debian package kubernetes-client)');
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  const r = await exec('sh', ['-c', `${sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${sudo}apt-get install -y -qq kubernetes-client`], d.root);
  if (r.code !== 0) throw new Error(`could not install kubectl: ${r.stderr.trim()}`);
}

function demoPolicy(vendorFpr: string): string {
  return writeYaml({
    apiVersion: 'breakglass.dev/v1',
    kind: 'Policy',
    metadata: { name: 'production' },
    spec: {
      requesters: ['*@vendor.example'],
      recipients: [vendorFpr],
      approvals: { required: 2, approvers: ['alice', 'bob'], allowSelfApproval: false },
      requestExpiry: '4h',
      reason: { pattern: '^INC-[0-9]+', minLength: 20 },
      resources: [{ name: 'prod-eu', type: 'kubernetes', privileges: ['cluster-admin', 'admin:payments', 'view'], maxDuration: '2h', network: ['direct'] }],
    },
  });
}

async function writeRunnerConfig(etc: string, keys: string, remote: string, outbox: string, cluster: LocalCluster): Promise<void> {
  await mkdir(outbox, { recursive: true });
  const y = writeYaml;
  await writeFile(
    join(etc, 'trust.yaml'),
    y({
      apiVersion: 'breakglass.dev/v1',
      kind: 'Trust',
      threshold: 2,
      approvers: [
        { name: 'alice', openpgp: join(keys, 'alice.asc') },
        { name: 'bob', openpgp: join(keys, 'bob.asc') },
      ],
      runner: join(keys, 'runner.asc'),
    }),
  );
  await writeFile(
    join(etc, 'runner.yaml'),
    y({
      apiVersion: 'breakglass.dev/v1',
      kind: 'RunnerConfig',
      repository: { url: remote, branch: 'main', name: REPOSITORY },
      trust: 'trust.yaml',
      signingKey: join(keys, 'runner.sec.asc'),
      pollInterval: '2s',
      state: join(etc, 'state'),
      caps: { maxDuration: '1h' },
      delivery: { directory: outbox },
      resources: { 'prod-eu': { kubeconfig: cluster.kubeconfig, namespace: 'breakglass-system', server: cluster.server, certificateAuthority: cluster.caFile } },
    }),
  );
}
