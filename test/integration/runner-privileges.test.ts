/**
 * Privilege that could outlive the session (issue 10, class 5), judged by the
 * real runner binary against the real API server before anything is created:
 * a grant in the runner's own namespace, or in one its config protects, is
 * PRIVILEGE_PROTECTED_NAMESPACE; a cluster-wide role whose actual rules could
 * take over the runner (clusterrole:edit impersonates ServiceAccounts) is
 * PRIVILEGE_ESCALATES; a role that cannot be read is PRIVILEGE_UNVERIFIABLE
 * (retried, never guessed). A harmless cluster-wide role and `view` activate.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RunnerEnv } from '../helpers/runner-env.js';

const cluster = inject('cluster');

/** Policy and runner config that allow (on paper) every privilege under test. */
class PrivilegeEnv extends RunnerEnv {
  readonly readonlyRole = `bg-ro-${this.namespace}`;
  readonly guarded = `${this.namespace}-guarded`;
  protected override policyResources(maxDuration: string): unknown[] {
    const privileges = ['view', `edit:${this.namespace}`, `admin:${this.guarded}`, 'clusterrole:edit', `clusterrole:${this.readonlyRole}`, 'clusterrole:bg-no-such-role'];
    return [{ name: 'prod-eu', type: 'kubernetes', privileges, maxDuration, network: ['direct'] }];
  }
  protected override runnerResources(): { resources: Record<string, unknown>; extra?: Record<string, unknown> } {
    return { ...super.runnerResources(), extra: { protectedNamespaces: [this.guarded] } };
  }
}

describe('the runner judges a privilege before it grants it', () => {
  const env = new PrivilegeEnv(cluster);
  const refused = () => (JSON.parse(readFileSync(join(env.state, 'loop.json'), 'utf8')) as { refused?: Record<string, { code: string }> }).refused ?? {};
  const failures = () => (JSON.parse(readFileSync(join(env.state, 'loop.json'), 'utf8')) as { failures?: Record<string, { code: string }> }).failures ?? {};
  const exists = (p: Promise<unknown>) =>
    p.then(
      () => true,
      () => false,
    );
  beforeAll(async () => {
    await env.setup();
    await env
      .admin()
      .makeApiClient(RbacAuthorizationV1Api)
      .createClusterRole({
        body: { metadata: { name: env.readonlyRole }, rules: [{ apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list'] }] },
      });
    await env.addSession('own-namespace', { privilege: `edit:${env.namespace}` });
    await env.addSession('guarded-namespace', { privilege: `admin:${env.guarded}` });
    await env.addSession('cluster-edit', { privilege: 'clusterrole:edit' });
    await env.addSession('no-such-role', { privilege: 'clusterrole:bg-no-such-role' });
    await env.addSession('readonly', { privilege: `clusterrole:${env.readonlyRole}` });
    await env.addSession('plain-view', { privilege: 'view' });
  });
  afterAll(async () => {
    await env
      .admin()
      .makeApiClient(RbacAuthorizationV1Api)
      .deleteClusterRole({ name: env.readonlyRole })
      .catch(() => undefined);
    await env.cleanup();
  });

  it('refuses each by code, creates nothing for them, and activates the rest', async () => {
    const r = await env.runner();
    expect(r.code, r.stderr).toBe(0);
    expect(refused()['own-namespace']?.code).toBe('PRIVILEGE_PROTECTED_NAMESPACE');
    expect(refused()['guarded-namespace']?.code).toBe('PRIVILEGE_PROTECTED_NAMESPACE');
    expect(refused()['cluster-edit']?.code).toBe('PRIVILEGE_ESCALATES');
    expect(r.stderr).toMatch(/session cluster-edit: pending: PRIVILEGE_ESCALATES: ClusterRole edit, granted in every namespace .*impersonate ServiceAccounts/);
    // An unreadable role is an error of this loop, kept for a retry: never guessed at, never granted.
    expect(failures()['no-such-role']?.code).toBe('PRIVILEGE_UNVERIFIABLE');
    const core = env.admin().makeApiClient(CoreV1Api);
    for (const id of ['own-namespace', 'guarded-namespace', 'cluster-edit', 'no-such-role']) {
      expect(await exists(core.readNamespacedConfigMap({ namespace: env.namespace, name: `bg-marker-${id}` })), id).toBe(false);
      expect(await exists(core.readNamespacedServiceAccount({ namespace: env.namespace, name: `bg-${id}` })), id).toBe(false);
      expect(existsSync(join(env.outbox, `${id}.asc`)), id).toBe(false);
    }
    for (const id of ['readonly', 'plain-view']) expect(existsSync(join(env.outbox, `${id}.asc`)), id).toBe(true);
  });

  it('retries the unverifiable one every loop and still refuses it', async () => {
    const r = await env.runner();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/session no-such-role: PRIVILEGE_UNVERIFIABLE: cannot read what ClusterRole bg-no-such-role grants/);
    expect(failures()['no-such-role']?.code).toBe('PRIVILEGE_UNVERIFIABLE');
  });
});
