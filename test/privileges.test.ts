/**
 * Privilege that could outlive the session: a grant in a protected namespace
 * (the runner's own, the cluster's) is refused at validation; a cluster-wide
 * role is judged by its rules; the approval view warns for every grant but
 * plain `view`. The runner's own check against the live cluster is in
 * test/integration/runner-privileges.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatTime } from '../src/core/duration.js';
import { BUILTIN_PROTECTED_NAMESPACES, privilegeCaution, protectedNamespaceOf } from '../src/core/privilege.js';
import { escalations } from '../src/core/rbac-escalation.js';
import { inProcess, ROOT } from './helpers/cli.js';

const ID = 'inc-4411-prod-crashloop';
const R = `sessions/${ID}/request.yaml`;

/** A repository with the DESIGN example policy, its privileges replaced, and one request made now. */
async function repo(privileges: string[], privilege: string, extraSpec = ''): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-priv-'));
  await cp(join(ROOT, 'test/fixtures/base'), dir, { recursive: true });
  const policyPath = join(dir, 'policies/production.yaml');
  const policy = (await readFile(policyPath, 'utf8')).replace(/privileges: \[cluster-admin, "admin:payments", view\]/, `privileges: [${privileges.map((p) => JSON.stringify(p)).join(', ')}]`);
  await writeFile(policyPath, policy + extraSpec);
  await mkdir(join(dir, `sessions/${ID}`), { recursive: true });
  const request = (await readFile(join(ROOT, 'test/fixtures/valid', R), 'utf8'))
    .replace('created: 2026-11-21T02:17:00Z', `created: ${formatTime(Date.now() - 60_000)}`)
    .replace('privilege: cluster-admin', `privilege: ${JSON.stringify(privilege)}`);
  await writeFile(join(dir, R), request);
  return dir;
}

describe('validate on a privilege in a protected namespace', () => {
  it.each(['edit:breakglass-system', 'admin:kube-system', 'edit:kube-node-lease'])('refuses %s even though the policy lists it', async (privilege) => {
    const dir = await repo(['view', privilege], privilege);
    const r = await inProcess(['validate', '--repo', dir], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${R}:10:14: error PRIVILEGE_PROTECTED_NAMESPACE: privilege "${privilege}" is in namespace ${privilege.split(':')[1]}, which is protected`);
  });

  it('refuses a namespace the policy adds to the protected ones, and accepts it without that line', async () => {
    const open = await repo(['admin:payments'], 'admin:payments');
    expect((await inProcess(['validate', '--repo', open], { cwd: open })).code).toBe(0);
    const guarded = await repo(['admin:payments'], 'admin:payments', '  protectedNamespaces: [payments]\n');
    const r = await inProcess(['validate', '--repo', guarded], { cwd: guarded });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${R}:10:14: error PRIVILEGE_PROTECTED_NAMESPACE`);
  });

  it('exits 1 (a verdict, not an error) on a request that is a symbolic link', async () => {
    const dir = await repo(['view'], 'view');
    await mkdir(join(dir, 'sessions/inc-1-link'), { recursive: true });
    await symlink('/etc/passwd', join(dir, 'sessions/inc-1-link/request.yaml'));
    const r = await inProcess(['validate', '--repo', dir, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as { ok: boolean; findings: { file: string; code: string }[] };
    expect(doc.ok).toBe(false);
    expect(doc.findings).toContainEqual(expect.objectContaining({ file: 'sessions/inc-1-link/request.yaml', code: 'SYMLINK' }));
    // The good session beside it is still judged.
    expect(doc.findings.filter((f) => f.file === R)).toEqual([]);
  });

  it('exits 1 on a session entry that is not a regular file (a FIFO), beside a nested repository', async () => {
    const dir = await repo(['view'], 'view');
    execFileSync('git', ['init', '-q', join(dir, 'sessions/inc-2-sub/approvals')]);
    await mkdir(join(dir, 'sessions/inc-2-fifo'), { recursive: true });
    execFileSync('mkfifo', [join(dir, 'sessions/inc-2-fifo/request.yaml')]);
    const r = await inProcess(['validate', '--repo', dir], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('sessions/inc-2-fifo/request.yaml:1:1: error FILE_MODE');
  });
});

describe('the approval view warns for every grant but plain view', () => {
  it('says nothing for view, and names the danger of each other grant', () => {
    expect(privilegeCaution('view', 'prod-eu')).toBeUndefined();
    expect(privilegeCaution('read-write', 'orders-db')).toBeUndefined();
    expect(privilegeCaution('cluster-admin', 'prod-eu')).toMatch(/^cluster-admin is FULL CONTROL of prod-eu/);
    expect(privilegeCaution('edit:payments', 'prod-eu')).toMatch(/act as every ServiceAccount in namespace payments.*cluster-admin-equivalent/);
    expect(privilegeCaution('clusterrole:edit', 'prod-eu')).toMatch(/every namespace of prod-eu, including the runner's own.*PRIVILEGE_ESCALATES/);
  });

  it('is shown by `breakglass show` for admin:<ns>', async () => {
    const dir = await repo(['admin:payments'], 'admin:payments');
    const r = await inProcess(['show', ID, '--repo', dir, '--repository', 'github.com/customer/access'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('admin:payments lets the session act as every ServiceAccount in namespace payments');
  });
});

describe('protected namespaces', () => {
  it('are the built-ins plus whatever is added, never fewer', () => {
    expect(BUILTIN_PROTECTED_NAMESPACES).toEqual(expect.arrayContaining(['kube-system', 'breakglass-system']));
    expect(protectedNamespaceOf('edit:kube-system')).toBe('kube-system');
    expect(protectedNamespaceOf('edit:payments')).toBeUndefined();
    expect(protectedNamespaceOf('edit:payments', ['payments'])).toBe('payments');
    expect(protectedNamespaceOf('clusterrole:edit', ['payments'])).toBeUndefined();
  });
});

describe('a cluster-wide role is judged by its rules', () => {
  const read = { apiGroups: ['', 'apps'], resources: ['pods', 'deployments', 'configmaps', 'services'], verbs: ['get', 'list', 'watch'] };
  it('accepts read-only rules that leave secrets alone', () => {
    expect(escalations([read, { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }])).toEqual([]);
  });
  it.each([
    ['impersonating ServiceAccounts', { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] }, /impersonate ServiceAccounts/],
    ['reading secrets', { apiGroups: [''], resources: ['secrets'], verbs: ['list'] }, /read or create secrets/],
    ['minting tokens', { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] }, /mint tokens/],
    ['running pods', { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'] }, /run pods/],
    ['exec into pods', { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }, /exec into running pods/],
    ['binding roles', { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'] }, /bind cluster roles/],
    ['writing role bindings', { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] }, /write role bindings/],
    ['changing markers', { apiGroups: [''], resources: ['configmaps'], verbs: ['update'] }, /session markers/],
    ['anything on everything', { apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, /impersonate.*/],
    ['impersonating something new', { apiGroups: ['example.com'], resources: ['robots'], verbs: ['impersonate'] }, /^impersonate$/],
  ])('refuses %s', (_name, rule, expected) => {
    expect(escalations([read, rule]).join('; ')).toMatch(expected);
  });
});
