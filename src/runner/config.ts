/**
 * The runner's settings, read once: the RunnerConfig document with every
 * path resolved against the config file's directory, the trust material and
 * the signing key. Nothing here is ever read from the repository.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { loadDocument } from '../core/document.js';
import { durationSeconds } from '../core/duration.js';
import { InvalidDocumentError } from '../core/errors.js';
import type { RunnerConfig } from '../core/schemas.js';

/** The config with absolute paths. */
export type ResolvedConfig = RunnerConfig & { file: string; pollSeconds: number };

/** Loads and resolves a RunnerConfig file. */
export async function loadRunnerConfig(file: string): Promise<ResolvedConfig> {
  const full = resolve(file);
  const loaded = loadDocument(full, await readFile(full), 'RunnerConfig');
  if (!loaded.ok) throw new InvalidDocumentError(loaded.findings);
  const base = dirname(full);
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const c = loaded.value;
  const resources = Object.fromEntries(
    Object.entries(c.resources).map(([name, r]) => [
      name,
      {
        ...r,
        kubeconfig: r.kubeconfig && at(r.kubeconfig),
        certificateAuthority: r.certificateAuthority && at(r.certificateAuthority),
        gateway: r.gateway && { ...r.gateway, certificateAuthority: r.gateway.certificateAuthority && at(r.gateway.certificateAuthority) },
      },
    ]),
  );
  // A file:// or local path remote is resolved too, so tests and air-gapped mirrors work.
  const url = /^[./]/.test(c.repository.url) ? at(c.repository.url) : c.repository.url;
  return {
    ...c,
    file: full,
    pollSeconds: durationSeconds(c.pollInterval),
    repository: { ...c.repository, url },
    trust: at(c.trust),
    signingKey: at(c.signingKey),
    state: at(c.state),
    delivery: 'directory' in c.delivery ? { directory: at(c.delivery.directory) } : c.delivery,
    commands: c.commands && { ...c.commands, path: at(c.commands.path) },
    recipientKeys: c.recipientKeys && at(c.recipientKeys),
    drill: c.drill && { ...c.drill, key: at(c.drill.key) },
    gateway: c.gateway && { ...c.gateway, certificate: at(c.gateway.certificate), key: at(c.gateway.key) },
    claims: c.claims && { ...c.claims, kubeconfig: c.claims.kubeconfig && at(c.claims.kubeconfig) },
    resources,
  };
}
