/**
 * A drill's sandbox: a temporary bare repository with a drill policy approved
 * by the drill key, a trust file whose only approver is the drill key, an
 * ephemeral vendor key (generated in memory) as the recipient, and a runner
 * config that points at the configured cluster, namespace, signing key and
 * caps, but at nothing else of production: not its repository, not its trust,
 * not its delivery channel. `rehearsal: true` makes every record a drill's.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { git, gitText } from '../adapters/git.js';
import { sha256Digest } from '../core/digest.js';
import type { DrillConfig } from '../core/schemas.js';
import { generateKeyPair, signDetached, type GeneratedKey, type PrivateKey } from '../crypto/openpgp.js';
import type { ResolvedConfig } from '../runner/config.js';
import { DRILL_APPROVER, drillPolicy, policyApproval, yamlDoc, type DrillSpec } from './documents.js';

const IDENTITY = { GIT_AUTHOR_NAME: 'breakglass drill', GIT_AUTHOR_EMAIL: 'drill@breakglass.invalid', GIT_COMMITTER_NAME: 'breakglass drill', GIT_COMMITTER_EMAIL: 'drill@breakglass.invalid' };

/** Everything the drill's steps work on. */
export interface Sandbox {
  root: string;
  remote: string;
  work: string;
  outbox: string;
  configFile: string;
  trustFile: string;
  spec: DrillSpec;
  vendor: GeneratedKey;
  drillKey: PrivateKey;
  /** The production config the drill was started with (for the resource and namespace). */
  config: ResolvedConfig & { drill: DrillConfig };
}

/** A session id no real session has: `drill-<UTC time>-<random>`. */
export function drillSessionId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15).toLowerCase();
  return `drill-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Writes `rel` in the sandbox clone; returns the SHA-256 of its bytes. */
export async function writeFileIn(sb: Sandbox, rel: string, content: string): Promise<string> {
  const full = join(sb.work, rel);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, content);
  return sha256Digest(Buffer.from(content));
}

/** Signs `body` with the drill key, dated a moment back (a runner clock slightly behind ours still accepts it), never before the key itself. */
export async function signAsDrill(sb: Sandbox, body: string, now: number): Promise<string> {
  return signDetached(sb.drillKey, Buffer.from(body), new Date(Math.max(now - 5_000, sb.drillKey.getCreationTime().getTime())));
}

/** Commits everything in the clone and pushes it to the sandbox remote's main, on top of the runner's records. */
export async function commitAndPush(sb: Sandbox, message: string): Promise<string> {
  await git(sb.work, ['add', '-A']);
  await git(sb.work, ['commit', '-q', '-m', message], { env: IDENTITY });
  const remoteHasMain = await gitText(sb.remote, ['rev-parse', '--verify', '-q', 'refs/heads/main']).then(
    () => true,
    () => false,
  );
  if (remoteHasMain) await git(sb.work, ['pull', '-q', '--rebase', 'origin', 'main'], { env: IDENTITY });
  await git(sb.work, ['push', '-q', 'origin', 'HEAD:main']);
  return gitText(sb.work, ['rev-parse', 'HEAD']);
}

/** Creates the sandbox and pushes the approved drill policy. */
export async function createSandbox(config: ResolvedConfig & { drill: DrillConfig }, drillKey: PrivateKey, runnerPublicKey: string, now: number): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'breakglass-drill-'));
  const session = drillSessionId(now);
  const vendor = await generateKeyPair({ name: 'drill vendor', email: 'drill@breakglass.invalid', date: new Date(now - 60_000) });
  const { drill } = config;
  const spec: DrillSpec = { session, resource: drill.resource, privilege: drill.privilege, duration: drill.duration, recipient: vendor.fingerprint, repository: `drill.invalid/breakglass/${session}` };
  const sb: Sandbox = {
    root,
    remote: join(root, 'access.git'),
    work: join(root, 'work'),
    outbox: join(root, 'outbox'),
    configFile: join(root, 'etc', 'runner.yaml'),
    trustFile: join(root, 'etc', 'trust.yaml'),
    spec,
    vendor,
    drillKey,
    config,
  };
  try {
    await git(root, ['init', '-q', '--bare', '-b', 'main', sb.remote]);
    await git(root, ['clone', '-q', sb.remote, sb.work]);
    await git(sb.work, ['checkout', '-q', '-B', 'main']);
    await seedPolicy(sb, now);
    await writeRunnerFiles(sb, runnerPublicKey);
    return sb;
  } catch (e) {
    await removeSandbox(sb);
    throw e;
  }
}

async function seedPolicy(sb: Sandbox, now: number): Promise<void> {
  const digest = await writeFileIn(sb, 'policies/drill.yaml', drillPolicy(sb.spec));
  const approval = policyApproval(sb.spec, digest, now - 5_000);
  await writeFileIn(sb, `policies/approvals/drill/${DRILL_APPROVER}.yaml`, approval);
  await writeFileIn(sb, `policies/approvals/drill/${DRILL_APPROVER}.yaml.asc`, await signAsDrill(sb, approval, now));
  // The ephemeral vendor's public key: the runner checks it against the fingerprint in the signed request.
  await writeFileIn(sb, `policies/keys/${sb.vendor.fingerprint}.asc`, sb.vendor.publicKey);
  await commitAndPush(sb, 'drill: policy approved by the drill key');
}

/** The sandbox's trust (only the drill key) and runner config (the configured resource, key and caps). */
async function writeRunnerFiles(sb: Sandbox, runnerPublicKey: string): Promise<void> {
  const etc = dirname(sb.configFile);
  await mkdir(sb.outbox, { recursive: true, mode: 0o700 });
  await mkdir(etc, { recursive: true });
  await writeFile(join(etc, 'drill.asc'), sb.drillKey.toPublic().armor());
  await writeFile(join(etc, 'runner.asc'), runnerPublicKey);
  await writeFile(sb.trustFile, yamlDoc({ apiVersion: 'breakglass.dev/v1', kind: 'Trust', threshold: 1, approvers: [{ name: DRILL_APPROVER, openpgp: 'drill.asc' }], runner: 'runner.asc' }));
  const c = sb.config;
  const r = c.resources[sb.spec.resource]!;
  const resource = { kubeconfig: r.kubeconfig, namespace: r.namespace, server: r.server, certificateAuthority: r.certificateAuthority };
  const doc = {
    apiVersion: 'breakglass.dev/v1',
    kind: 'RunnerConfig',
    repository: { url: sb.remote, branch: 'main', name: sb.spec.repository },
    trust: sb.trustFile,
    signingKey: c.signingKey,
    pollInterval: c.pollInterval,
    state: join(sb.root, 'state'),
    caps: c.caps,
    delivery: { directory: sb.outbox },
    resources: { [sb.spec.resource]: JSON.parse(JSON.stringify(resource)) as object },
    rehearsal: true,
  };
  await writeFile(sb.configFile, yamlDoc(doc));
}

export async function removeSandbox(sb: Sandbox): Promise<void> {
  await rm(sb.root, { recursive: true, force: true });
}
