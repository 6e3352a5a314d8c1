/**
 * The Action on pull requests that are in order: the sticky comment shows the
 * whole approval view, is edited in place on the next run, and k of n rises
 * as approvals are added; a rejection's reason is shown.
 *
 * In-process (test/github-fake/harness.ts) except the first test, which runs
 * the bundle: a run that succeeds exits 0 with nothing on stderr (no warning
 * from a bundled library), and posts the comment through the bundled client.
 */
import { describe, expect, it } from 'vitest';
import { approval, digestOf, rejection, request, useScenario } from './github-fake/harness.js';
import { CLI_INVOCATION } from '../src/core/invocation.js';

const MARKER = '<!-- breakglass:approval-view -->';
const ID = 'inc-4411-prod-crashloop';

const s = useScenario();

function commentsOn(n: number) {
  return s.api.comments.get(n) ?? [];
}

describe('when a pull request adds a valid request', () => {
  it('succeeds and posts one comment with the whole approval view', async () => {
    s.branch();
    s.repo.write(`sessions/${ID}/request.yaml`, request(ID));
    s.repo.commit('request');
    const r = await s.runPull(7, { bundle: true });

    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.annotations.filter((a) => a.level === 'error')).toEqual([]);
    const [c] = commentsOn(7);
    expect(commentsOn(7)).toHaveLength(1);
    const body = c!.body;
    expect(body.startsWith(MARKER)).toBe(true);
    expect(body).toContain('No findings');
    expect(body).toContain(`Break-glass request \`${ID}\``);
    expect(body).toContain('| **Resource** | prod-eu (kubernetes, policy production) |');
    expect(body).toContain('| **Privilege** | cluster-admin |');
    expect(body).toContain('[!WARNING]');
    expect(body).toContain('cluster-admin is FULL CONTROL of prod-eu');
    expect(body).toMatch(/\| \*\*Duration\*\* \| 1h requested; effective at most 1h \(policy maximum 2h\)/);
    expect(body).toContain('| **Network** | tailscale |');
    expect(body).toContain('INC-4411: api pods crash-looping after cert rotation');
    expect(body).toContain('oncall@');
    expect(body).toContain('0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567');
    expect(body).toContain('allowed by policy production');
    expect(body).toContain('| **Approvals** | 0 of 2 |');
    expect(body).toContain(`${CLI_INVOCATION} approve ${ID} --key <your-key.asc> --commit`);
    expect(body).toContain(`${CLI_INVOCATION} reject ${ID} --reason "<why>" --commit`);
    expect(body).toContain('gpg --armor --detach-sign');
    expect(body).toContain('repository: github.com/customer/access');
    expect(body).toContain('informational only');
    expect(body).toContain('its own trust file');

    expect(JSON.parse(r.outputs.sessions!)).toEqual([ID]);
    expect(JSON.parse(r.outputs.status!)).toEqual({ [ID]: 'pending' });
    expect(JSON.parse(r.outputs.approvals!)).toEqual({ [ID]: '0 of 2' });
    expect(r.outputs.findings).toBe('0');
    expect(r.summary).toContain('breakglass: pull request #7');
    expect(r.summary).toContain('| **Approvals** | 0 of 2 |');
    expect(r.stdout).toContain('approval view created');
  });

  it('edits the same comment on the next run instead of adding one, as approvals come in', async () => {
    s.branch();
    const req = request(ID);
    s.repo.write(`sessions/${ID}/request.yaml`, req);
    s.repo.commit('request');
    await s.runPull(8);
    const first = commentsOn(8)[0]!;

    s.repo.write(`sessions/${ID}/approvals/alice.yaml`, approval(ID, 'alice', digestOf(req)));
    s.repo.write(`sessions/${ID}/approvals/alice.yaml.asc`, '-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n');
    s.repo.commit('alice approves');
    const r = await s.runPull(8);

    expect(r.code).toBe(0);
    expect(commentsOn(8)).toHaveLength(1);
    expect(commentsOn(8)[0]!.id).toBe(first.id);
    expect(s.api.requests.filter((q) => q.method === 'PATCH')).toEqual([expect.objectContaining({ path: `/repos/customer/access/issues/comments/${first.id}`, status: 200 })]);
    expect(s.api.requests.filter((q) => q.method === 'POST')).toHaveLength(1);
    expect(commentsOn(8)[0]!.body).toContain('| **Approvals** | 1 of 2 — alice');
    expect(JSON.parse(r.outputs.approvals!)).toEqual({ [ID]: '1 of 2' });
    expect(r.stdout).toContain('approval view updated');
  });
});

describe('when approvals are added in a later pull request', () => {
  it('k of n rises with each approval', async () => {
    s.branch();
    const req = request(ID);
    s.repo.write(`sessions/${ID}/request.yaml`, req);
    s.repo.commit('request');
    s.merge();

    s.branch('approve-1');
    s.repo.write(`sessions/${ID}/approvals/alice.yaml`, approval(ID, 'alice', digestOf(req)));
    s.repo.write(`sessions/${ID}/approvals/alice.yaml.asc`, 'signature');
    s.repo.commit('alice');
    const one = await s.runPull(9);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.outputs.approvals!)).toEqual({ [ID]: '1 of 2' });

    s.repo.write(`sessions/${ID}/approvals/bob.yaml`, approval(ID, 'bob', digestOf(req)));
    s.repo.write(`sessions/${ID}/approvals/bob.yaml.asc`, 'signature');
    s.repo.commit('bob');
    const two = await s.runPull(9);
    expect(two.code).toBe(0);
    expect(JSON.parse(two.outputs.approvals!)).toEqual({ [ID]: '2 of 2' });
    const body = commentsOn(9)[0]!.body;
    expect(body).toMatch(/\| \*\*Approvals\*\* \| 2 of 2 — alice \(.*\), bob \(.*\)/);
    expect(body).toContain('approvals complete; merge to activate');
    expect(commentsOn(9)).toHaveLength(1);

    // A third approval that does not hold blocks the session: the runner fails closed on any bad approval file.
    s.repo.write(`sessions/${ID}/approvals/carol.yaml`, approval(ID, 'carol', digestOf(req)));
    s.repo.commit('carol, unsigned');
    const three = await s.runPull(9);
    expect(JSON.parse(three.outputs.approvals!)).toEqual({ [ID]: '2 of 2' });
    expect(commentsOn(9)[0]!.body).toContain('blocked: the approval of carol does not hold');
  });

  it('an approval without its signature does not count', async () => {
    s.branch();
    const req = request(ID);
    s.repo.write(`sessions/${ID}/request.yaml`, req);
    s.repo.write(`sessions/${ID}/approvals/alice.yaml`, approval(ID, 'alice', digestOf(req)));
    s.repo.commit('request and unsigned approval');
    const r = await s.runPull(10);
    expect(JSON.parse(r.outputs.approvals!)).toEqual({ [ID]: '0 of 2' });
    expect(commentsOn(10)[0]!.body).toContain('alice (invalid: no signature beside');
  });
});

describe('when a rejection is added', () => {
  it('reports the session as rejected and shows the reason', async () => {
    s.branch();
    const req = request(ID);
    s.repo.write(`sessions/${ID}/request.yaml`, req);
    s.repo.commit('request');
    s.merge();
    s.branch('reject');
    s.repo.write(`sessions/${ID}/rejection.yaml`, rejection(ID, digestOf(req), 'carol', 'Not during the change freeze; use the read-only role'));
    s.repo.commit('carol rejects');
    const r = await s.runPull(11);

    expect(r.code).toBe(0);
    expect(JSON.parse(r.outputs.status!)).toEqual({ [ID]: 'rejected' });
    const body = commentsOn(11)[0]!.body;
    expect(body).toContain('REJECTED by carol: Not during the change freeze; use the read-only role');
    expect(r.summary).toContain('REJECTED by carol');
  });
});

describe('when someone else quotes the marker in their own comment', () => {
  it('leaves that comment alone and creates its own', async () => {
    s.api.addComment(12, `${MARKER}\nlook at this`, { login: 'mallory', id: 7, type: 'User' });
    s.branch();
    s.repo.write(`sessions/${ID}/request.yaml`, request(ID));
    s.repo.commit('request');
    await s.runPull(12);
    const all = commentsOn(12);
    expect(all).toHaveLength(2);
    expect(all[0]!.body).toBe(`${MARKER}\nlook at this`);
    expect(all[1]!.user.type).toBe('Bot');
  });
});

describe('when the token is a personal access token (the Action posts as a user, not a bot)', () => {
  it('finds its own comment by the login GET /user returns, and edits it in place run after run', async () => {
    s.api.tokenUsers.set('ghp_ci', { login: 'access-ci', id: 501, type: 'User' });
    s.api.addComment(13, `${MARKER}\nquoted by someone else`, { login: 'mallory', id: 7, type: 'User' });
    s.branch();
    const req = request(ID);
    s.repo.write(`sessions/${ID}/request.yaml`, req);
    s.repo.commit('request');
    expect((await s.runPull(13, { token: 'ghp_ci' })).code).toBe(0);
    expect((await s.runPull(13, { token: 'ghp_ci' })).stdout).toContain('approval view unchanged');
    s.repo.write(`sessions/${ID}/rejection.yaml`, rejection(ID, digestOf(req), 'carol', 'Not during the change freeze; use the read-only role'));
    s.repo.commit('carol rejects');
    expect((await s.runPull(13, { token: 'ghp_ci' })).code).toBe(0);

    const all = commentsOn(13);
    expect(all.map((c) => c.user.login)).toEqual(['mallory', 'access-ci']);
    expect(all[0]!.body).toBe(`${MARKER}\nquoted by someone else`);
    expect(all[1]!.body).toContain('REJECTED by carol');
    expect(s.api.requests.filter((q) => q.method === 'POST').map((q) => q.status)).toEqual([201]);
    expect(s.api.requests.filter((q) => q.method === 'PATCH').map((q) => q.status)).toEqual([200]);
    expect(s.api.requests.filter((q) => q.path === '/user').map((q) => q.status)).toEqual([200, 200, 200]);
  });
});
