/**
 * `breakglass runner --check`, and the same checks before the runner starts:
 * the configuration against the world. Each check is a short step that
 * returns the problems it found, each with a stable code, what is wrong
 * (naming the value) and how to fix it. Nothing here creates anything: the
 * namespace probe is a server-side dry run, the key probe stays in memory.
 *
 * What it does NOT check: that a policy in the repository is approved (that
 * is per session, at verification), or that a provider API accepts its key —
 * the providers' own checklists do that (provider-preflight.ts), once these
 * checks pass.
 */
import { tmpdir } from 'node:os';
import { access, constants, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { git } from '../adapters/git.js';
import { loadRunnerKeys, loadTrust } from '../adapters/trust.js';
import { BreakglassError, InvalidDocumentError, formatFinding } from '../core/errors.js';
import { VerificationFailure } from '../crypto/errors.js';
import type { PreflightCode } from '../core/reasons.js';
import { fingerprints, readPrivateKey, sealTo, signDetached, unseal, verifyDetached, type PrivateKey } from '../crypto/openpgp.js';
import { loadRunnerConfig, type ResolvedConfig } from './config.js';
import { checkCluster, clusterPlaces } from './preflight-cluster.js';
import { missingProviderEnv } from './providers/index.js';
import { resolveChannels } from '../core/notify-config.js';
import { messageOf } from '../crypto/error-parts.js';

/** One problem found before starting. */
export interface PreflightProblem {
  code: PreflightCode;
  /** What is wrong, naming the value. */
  message: string;
  /** How to fix it. */
  fix: string;
}

export interface PreflightOptions {
  env: NodeJS.ProcessEnv;
}

/** What the checks found; `config` when the config file itself could be read. */
export interface PreflightResult {
  config?: ResolvedConfig;
  problems: PreflightProblem[];
  /** How many checks ran. */
  checks: number;
}

/** `CODE: message (fix: ...)`, one line. */
export function formatProblem(p: PreflightProblem): string {
  // One line per problem, whatever a tool (git, an API) put in its message.
  return `${p.code}: ${p.message.replace(/\s*\n\s*/g, ' ').trim()} (fix: ${p.fix})`;
}

const problem = (code: PreflightCode, message: string, fix: string): PreflightProblem => ({ code, message, fix });

async function checkConfig(file: string): Promise<{ config?: ResolvedConfig; problems: PreflightProblem[] }> {
  try {
    return { config: await loadRunnerConfig(file), problems: [] };
  } catch (e) {
    const fix = 'correct the RunnerConfig (docs/guides/operator.md lists every key)';
    if (e instanceof InvalidDocumentError) return { problems: e.findings.map((f) => problem('PREFLIGHT_CONFIG_INVALID', formatFinding(f), fix)) };
    return { problems: [problem('PREFLIGHT_CONFIG_INVALID', `${file}: ${messageOf(e)}`, fix)] };
  }
}

async function checkTrust(c: ResolvedConfig): Promise<PreflightProblem[]> {
  try {
    await loadTrust(c.trust);
    return [];
  } catch (e) {
    const detail = e instanceof InvalidDocumentError ? e.findings.map(formatFinding).join('; ') : messageOf(e);
    return [problem('PREFLIGHT_TRUST_INVALID', `trust file ${c.trust}: ${detail}`, "point `trust:` at the customer's Trust file and make every key it names readable")];
  }
}

/**
 * The runner signs records and deliveries, and seals each session's token to
 * ITSELF (to prove revocation after a restart). A sign-only key (`gpg
 * --quick-gen-key ... sign`) would fail only after a token was minted; here it
 * fails before anything exists.
 */
export async function checkKey(c: Pick<ResolvedConfig, 'signingKey' | 'trust'>, env: NodeJS.ProcessEnv): Promise<PreflightProblem[]> {
  let key: PrivateKey;
  try {
    key = await readPrivateKey(await readFile(c.signingKey, 'utf8'), env.BREAKGLASS_SIGNING_PASSPHRASE);
  } catch (e) {
    return [
      problem(
        'PREFLIGHT_KEY_UNREADABLE',
        `signing key ${c.signingKey}: ${messageOf(e)}`,
        "point `signingKey:` at the runner's armored OpenPGP secret key; set BREAKGLASS_SIGNING_PASSPHRASE if it is protected",
      ),
    ];
  }
  const probe = new TextEncoder().encode('breakglass runner preflight');
  const out: PreflightProblem[] = [];
  try {
    await verifyDetached(probe, Buffer.from(await signDetached(key, probe)), [key.toPublic()], new Date());
  } catch (e) {
    out.push(
      problem(
        'PREFLIGHT_KEY_CANNOT_SIGN',
        `signing key ${key.getFingerprint().toUpperCase()} cannot sign: ${messageOf(e)}`,
        'use a key with a valid signing (sub)key, e.g. one made by `breakglass keygen`',
      ),
    );
  }
  try {
    const back = await unseal(key, await sealTo(key.toPublic().armor(), probe));
    if (Buffer.compare(Buffer.from(back), Buffer.from(probe)) !== 0) throw new Error('decrypted bytes differ');
  } catch (e) {
    out.push(
      problem(
        'PREFLIGHT_KEY_CANNOT_ENCRYPT',
        `signing key ${key.getFingerprint().toUpperCase()} cannot encrypt to itself: ${messageOf(e)}`,
        'add an encryption subkey (gpg --quick-add-key FPR cv25519 encr) or use a key made by `breakglass keygen`; the runner seals each token to its own key',
      ),
    );
  }
  // What it signs must verify in `audit` and `receive`: the probe, signed now, against the trust
  // file's runner keys as published (a key retired or expired there is refused, even if the secret half still signs).
  const runner = await loadRunnerKeys(c.trust).catch(() => []);
  if (runner.length > 0) {
    try {
      await verifyDetached(probe, Buffer.from(await signDetached(key, probe)), runner, new Date());
    } catch (e) {
      out.push(
        problem(
          'PREFLIGHT_KEY_NOT_RUNNER',
          `signing key ${key.getFingerprint().toUpperCase()} does not sign as one of the trust file's runner keys (${fingerprints(runner)}): ${e instanceof VerificationFailure ? `${e.code}: ` : ''}${messageOf(e)}`,
          'records it signs would not verify in `audit`: add the public half of `signingKey` to the file trust.yaml `runner:` names (keep the old key there while rotating: its records still need it)',
        ),
      );
    }
  }
  return out;
}

/** The nearest existing directory of `path` must be writable (the runner creates the rest). */
async function checkState(c: ResolvedConfig): Promise<PreflightProblem[]> {
  let at = c.state;
  while (!(await stat(at).catch(() => undefined)) && dirname(at) !== at) at = dirname(at);
  try {
    await access(at, constants.W_OK);
    return [];
  } catch (e) {
    return [
      problem('PREFLIGHT_STATE_UNWRITABLE', `state directory ${c.state}: ${at} is not writable (${messageOf(e)})`, 'give the runner a writable `state:` directory (a persistent volume in a cluster)'),
    ];
  }
}

/** `git ls-remote` with the runner's own environment (its SSH key or credential helper): reachable, and the branch exists. */
async function checkRemote(c: ResolvedConfig, env: NodeJS.ProcessEnv): Promise<PreflightProblem[]> {
  const { url, branch } = c.repository;
  try {
    await git(tmpdir(), ['ls-remote', '--exit-code', '--heads', url, `refs/heads/${branch}`], { env });
    return [];
  } catch (e) {
    // ls-remote --exit-code exits 2 when the remote answered but has no such ref.
    const exit = ((e as BreakglassError).cause as { code?: unknown } | undefined)?.code;
    if (exit === 2) return [problem('PREFLIGHT_BRANCH_MISSING', `repository ${url} has no branch ${branch}`, 'set `repository.branch` to the branch sessions are merged into')];
    return [
      problem(
        'PREFLIGHT_REMOTE_UNREACHABLE',
        `repository ${url} cannot be reached: ${messageOf(e)}`,
        "check `repository.url`, the network path to it, and the credentials (SSH key, token) in the runner's environment",
      ),
    ];
  }
}

/** Each configured provider's variables are set (their APIs are asked by provider-preflight.ts, afterwards). */
async function checkProviders(c: ResolvedConfig, o: PreflightOptions): Promise<PreflightProblem[]> {
  const out: PreflightProblem[] = [];
  for (const [name, r] of Object.entries(c.resources)) {
    const missing = (['tailscale', 'twingate'] as const).flatMap((n) => missingProviderEnv(n, r, o.env).map((v) => [n, v] as const));
    for (const [network, v] of missing)
      out.push(
        problem(
          'PREFLIGHT_PROVIDER_ENV_MISSING',
          `resource ${name}: ${network} needs ${v}, which is not set in the runner's environment`,
          `set ${v} (in a cluster: a key of the breakglass-provider-keys Secret)`,
        ),
      );
  }
  if ('github' in c.delivery && !o.env[c.delivery.github.tokenEnv]) {
    const v = c.delivery.github.tokenEnv;
    out.push(
      problem('PREFLIGHT_PROVIDER_ENV_MISSING', `delivery.github needs ${v}, which is not set in the runner's environment`, `set ${v} to a token that may comment on the repository's pull requests`),
    );
  }
  // Issue 13: every variable the notify channels name, read as the runner will; never a value in the message.
  if (c.notify?.length) {
    try {
      resolveChannels(c.notify, o.env);
    } catch (e) {
      const code = e instanceof BreakglassError ? e.code : 'NOTIFY_CONFIG_INVALID';
      out.push(
        problem(
          code === 'NOTIFY_ENV_MISSING' ? 'PREFLIGHT_PROVIDER_ENV_MISSING' : 'PREFLIGHT_CONFIG_INVALID',
          `${code}: ${messageOf(e)}`,
          'set the variables the notify channels name (docs/guides/notifications.md)',
        ),
      );
    }
  }
  if (c.commands && !(await stat(c.commands.path).catch(() => undefined))?.isDirectory()) {
    out.push(
      problem('PREFLIGHT_COMMANDS_MISSING', `commands.path ${c.commands.path} is not a directory`, 'point `commands.path` at the directory holding the approved commands (never the repository)'),
    );
  }
  return out;
}

/** Runs every check; never throws. */
export async function preflight(configFile: string, o: PreflightOptions): Promise<PreflightResult> {
  const loaded = await checkConfig(configFile);
  const c = loaded.config;
  if (!c) return { problems: loaded.problems, checks: 1 };
  const parts = await Promise.all([checkTrust(c), checkKey(c, o.env), checkState(c), checkRemote(c, o.env), ...clusterPlaces(c).map((p) => checkCluster(p)), checkProviders(c, o)]);
  return { config: c, problems: parts.flat(), checks: 1 + parts.length };
}
