import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { loadDocument } from '../../core/document.js';
import { sha256Digest } from '../../core/digest.js';
import { durationSeconds, formatTime, parseDuration } from '../../core/duration.js';
import { BreakglassError, InvalidDocumentError } from '../../core/errors.js';
import { API_VERSION, ApproverName, PolicyName, type Kind } from '../../core/schemas.js';
import { renderText } from '../../core/view.js';
import { makeDirectory, repoDir } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { loadSessionView } from '../session-view.js';
import { commitPaths, confirmOrRefuse, locateKey, openSigningKey, repositoryName, type SigningKey } from '../signing.js';
import { toYaml } from './request.js';

interface ApproveOpts {
  key: string;
  policy?: string;
  approver?: string;
  repository?: string;
  expires: string;
  duration?: string;
  repo?: string;
  commit?: boolean;
  yes?: boolean;
}

function approverName(opts: ApproveOpts, key: SigningKey): string {
  const name = opts.approver ?? key.name;
  if (!name) throw new BreakglassError('USAGE', 'cannot tell your approver name from the key: pass --approver <name> (your name in the trust file)');
  if (!ApproverName.safeParse(name).success) throw new BreakglassError('USAGE', `--approver ${JSON.stringify(name)} is not an approver name: lower-case letters, digits, "-" and "_"`);
  return name;
}

/** YAML with the nonce quoted, so no reader ever takes a hex string of digits for a number. */
function render(doc: Record<string, unknown>, rel: string, kind: Kind): Buffer {
  const bytes = Buffer.from(toYaml(doc));
  const loaded = loadDocument(rel, bytes, kind);
  if (!loaded.ok) throw new InvalidDocumentError(loaded.findings);
  return bytes;
}

/** Signs `bytes`, writes the file and its `.asc`, and commits them when asked. */
async function signAndWrite(io: CliIo, dir: string, rel: string, bytes: Buffer, key: SigningKey, commit: string | undefined): Promise<void> {
  const signature = await key.sign(bytes);
  await makeDirectory(dirname(join(dir, rel)));
  await writeFile(join(dir, rel), bytes);
  await writeFile(join(dir, `${rel}.asc`), signature);
  io.out(`wrote ${rel} and ${rel}.asc (signed by ${key.fingerprint})`);
  if (commit) io.out(`committed ${(await commitPaths(dir, [rel, `${rel}.asc`], commit)).slice(0, 12)}`);
}

async function approveSession(io: CliIo, id: string, opts: ApproveOpts): Promise<void> {
  // Inputs first (flags, the key, the session), the origin remote last: a typo is named before anything else.
  const expiresIn = parseDuration(opts.expires);
  if (!expiresIn) throw new BreakglassError('USAGE', `--expires ${JSON.stringify(opts.expires)} is not a duration such as 30m or 1h`);
  const dir = await repoDir(io, opts.repo);
  const keyRef = await locateKey(io, opts.key);
  const sv = await loadSessionView(dir, id, io.now(), opts.repository);
  const req = sv.request;
  // The flag is input (may not parse); the request's duration passed its schema.
  const narrowed = opts.duration === undefined ? undefined : parseDuration(opts.duration);
  if (opts.duration !== undefined && !(narrowed !== undefined && narrowed <= durationSeconds(req.value.spec.duration))) {
    throw new BreakglassError('USAGE', `--duration ${JSON.stringify(opts.duration)} must be a duration no longer than the ${req.value.spec.duration} requested`);
  }
  const repository = await repositoryName(dir, sv.repository);
  const key = await openSigningKey(io, keyRef);
  const approver = approverName(opts, key);
  const now = io.now();
  const doc = {
    apiVersion: API_VERSION,
    kind: 'Approval',
    session: id,
    request: req.digest,
    repository,
    approver,
    decision: 'approve',
    signed: formatTime(now),
    expires: formatTime(now + expiresIn * 1000),
    ...(opts.duration ? { duration: opts.duration } : {}),
    nonce: randomBytes(16).toString('hex'),
  };
  const rel = `sessions/${id}/approvals/${approver}.yaml`;
  const bytes = render(doc, rel, 'Approval');
  io.out(renderText(sv.view));
  io.out(`\nYou are about to sign, as ${approver} with key ${key.fingerprint}:\n\n${bytes.toString('utf8')}`);
  if (!sv.view.verdict.ok) io.err('WARNING: this request violates policy; the runner will refuse it whatever is signed');
  await confirmOrRefuse(io, opts.yes, `Approve ${id} for ${req.value.spec.privilege} on ${req.value.spec.resource}?`);
  await signAndWrite(io, dir, rel, bytes, key, opts.commit ? `Approve ${id} (${approver})` : undefined);
}

async function approvePolicy(io: CliIo, name: string, opts: ApproveOpts): Promise<void> {
  if (!PolicyName.safeParse(name).success) throw new BreakglassError('USAGE', `--policy ${JSON.stringify(name)} is not a policy name`);
  const dir = await repoDir(io, opts.repo);
  const keyRef = await locateKey(io, opts.key);
  const policyRel = `policies/${name}.yaml`;
  const policyBytes = await readFile(join(dir, policyRel)).catch(() => {
    throw new BreakglassError('POLICY_MISSING', `no ${policyRel} in ${dir}`);
  });
  const loaded = loadDocument(policyRel, policyBytes, 'Policy');
  if (!loaded.ok) throw new InvalidDocumentError(loaded.findings);
  const repository = await repositoryName(dir, opts.repository);
  const key = await openSigningKey(io, keyRef);
  const approver = approverName(opts, key);
  const doc = {
    apiVersion: API_VERSION,
    kind: 'PolicyApproval',
    policy: name,
    digest: sha256Digest(policyBytes),
    repository,
    approver,
    signed: formatTime(io.now()),
    nonce: randomBytes(16).toString('hex'),
  };
  const rel = `policies/approvals/${name}/${approver}.yaml`;
  const bytes = render(doc, rel, 'PolicyApproval');
  io.out(`Policy ${policyRel} (${sha256Digest(policyBytes)}):\n\n${policyBytes.toString('utf8')}`);
  io.out(`\nYou are about to sign, as ${approver} with key ${key.fingerprint}:\n\n${bytes.toString('utf8')}`);
  await confirmOrRefuse(io, opts.yes, `Approve policy ${name} exactly as shown?`);
  await signAndWrite(io, dir, rel, bytes, key, opts.commit ? `Approve policy ${name} (${approver})` : undefined);
}

export function registerApprove(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('approve')
    .argument('[id]', 'session id (omit with --policy)')
    .description("sign an approval of a session request (or, with --policy, of a policy file's exact bytes)")
    .requiredOption('--key <file|gpg-id>', 'armored secret key file, or a gpg key id, fingerprint or e-mail')
    .option('--policy <name>', 'approve policies/<name>.yaml instead of a session')
    .option('--approver <name>', 'your name in the trust file (default: from the key user id)')
    .option('--repository <name>', 'repository name bound into the approval (default: origin as host/owner/name)')
    .option('--expires <duration>', 'the approval is valid for this long', '1h')
    .option('--duration <d>', 'approve for less than the requested duration')
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--commit', 'commit the approval and its signature (and nothing else)')
    .option('--yes', 'sign without asking (for scripts; read the view first)')
    .action(async (id: string | undefined, opts: ApproveOpts) => {
      if (opts.policy && id) throw new BreakglassError('USAGE', 'give either a session id or --policy, not both');
      if (opts.policy) await approvePolicy(io, opts.policy, opts);
      else if (id) await approveSession(io, id, opts);
      else throw new BreakglassError('USAGE', 'approve needs a session id, or --policy <name>');
      done(0);
    });
}
