/**
 * The Action on pull requests that break the rules: every finding is an
 * annotation at file:line:col, the comment lists it, and the step fails.
 *
 * In-process (test/github-fake/harness.ts), no bundle run: what the bundle
 * prints for annotations, its outputs, summary and failing exit code are
 * held to the in-process ones in action-api.test.ts ("in-process and as the
 * bundle").
 */
import { describe, expect, it } from 'vitest';
import { approval, digestOf, POLICY, request, useScenario, type RunResult } from './github-fake/harness.js';
import { CLI_INVOCATION } from '../src/core/invocation.js';

const ID = 'inc-4411-prod-crashloop';

const s = useScenario();

/** Error annotations on files (the step's closing `::error::` has no file). */
function errors(r: RunResult) {
  return r.annotations.filter((a) => a.level === 'error' && a.file);
}

describe('when the request is invalid', () => {
  it('annotates each problem at file:line:col and fails', async () => {
    s.branch();
    const bad = request(ID, { privilege: 'edit:kube-system', duration: '3h' }).replace('  network: tailscale', '  network: carrier-pigeon');
    s.repo.write(`sessions/${ID}/request.yaml`, bad.replace('kind: Request', 'kind: Request\ncolour: blue'));
    s.repo.commit('bad request');
    const r = await s.runPull(3);

    expect(r.code).toBe(1);
    const found = errors(r).filter((a) => a.file === `sessions/${ID}/request.yaml`);
    expect(found.length).toBeGreaterThanOrEqual(2);
    expect(found).toContainEqual(expect.objectContaining({ line: 3, col: 1, title: 'breakglass SCHEMA_UNKNOWN_KEY' }));
    expect(found).toContainEqual(expect.objectContaining({ line: 13, col: 12, title: 'breakglass SCHEMA_VALUE' }));
    expect(r.stdout).toMatch(new RegExp(`^::error title=breakglass SCHEMA_UNKNOWN_KEY,file=sessions/${ID}/request.yaml,line=3,col=1::unknown key "colour"`, 'm'));
    expect(r.stdout).toContain('::error::breakglass found');
    expect(Number(r.outputs.findings)).toBe(found.length);
    expect(JSON.parse(r.outputs.status!)).toEqual({ [ID]: 'invalid' });
    expect(r.summary).toContain('breakglass: pull request #3');
    const body = s.api.comments.get(3)![0]!.body;
    expect(body).toContain(`\`sessions/${ID}/request.yaml:3:1\``);
    expect(body).toContain('SCHEMA\\_UNKNOWN\\_KEY');
    expect(body).toContain('The request cannot be shown');
  });

  it('annotates policy violations where they are written', async () => {
    s.branch();
    s.repo.write(`sessions/${ID}/request.yaml`, request(ID, { privilege: 'edit:kube-system', duration: '3h' }));
    s.repo.commit('request outside policy');
    const r = await s.runPull(4);

    expect(r.code).toBe(1);
    expect(errors(r)).toContainEqual(expect.objectContaining({ file: `sessions/${ID}/request.yaml`, line: 10, col: 14, title: 'breakglass POLICY_PRIVILEGE' }));
    expect(errors(r)).toContainEqual(expect.objectContaining({ line: 11, col: 13, title: 'breakglass POLICY_DURATION' }));
    expect(s.api.comments.get(4)![0]!.body).toContain('❌ POLICY\\_PRIVILEGE');
  });

  it('keeps annotating but does not fail with fail-on-findings: false', async () => {
    s.branch();
    s.repo.write(`sessions/${ID}/request.yaml`, request(ID, { duration: '3h' }));
    s.repo.commit('too long');
    const r = await s.runPull(5, { inputs: { 'fail-on-findings': 'false' } });
    expect(r.code).toBe(0);
    expect(errors(r)).toHaveLength(1);
    expect(r.outputs.findings).toBe('1');
  });
});

describe('when a pull request edits a request that was already approved', () => {
  it('refuses the change and shows that the approvals no longer bind it', async () => {
    s.branch();
    const req = request(ID);
    s.repo.write(`sessions/${ID}/request.yaml`, req);
    s.repo.write(`sessions/${ID}/approvals/alice.yaml`, approval(ID, 'alice', digestOf(req)));
    s.repo.write(`sessions/${ID}/approvals/alice.yaml.asc`, 'signature');
    s.repo.commit('approved request');
    s.merge();
    s.branch('widen');
    s.repo.write(`sessions/${ID}/request.yaml`, req.replace('duration: 1h', 'duration: 2h'));
    s.repo.commit('quietly ask for longer');
    const r = await s.runPull(6);

    expect(r.code).toBe(1);
    expect(errors(r)).toContainEqual(expect.objectContaining({ file: `sessions/${ID}/request.yaml`, line: 1, col: 1, title: 'breakglass REQUEST_CHANGED' }));
    expect(errors(r)[0]!.message).toContain('voids them all');
    expect(JSON.parse(r.outputs.approvals!)).toEqual({ [ID]: '0 of 2' });
    expect(s.api.comments.get(6)![0]!.body).toContain('alice (invalid: binds sha256:');
  });

  it('refuses deleting or renaming it away', async () => {
    s.branch();
    s.repo.write(`sessions/${ID}/request.yaml`, request(ID));
    s.repo.commit('request');
    s.merge();
    s.branch('hide');
    s.repo.git('mv', `sessions/${ID}`, 'sessions/inc-4411-other');
    s.repo.commit('rename');
    const r = await s.runPull(7);
    expect(r.code).toBe(1);
    expect(errors(r)).toContainEqual(expect.objectContaining({ file: `sessions/${ID}/request.yaml`, title: 'breakglass REQUEST_REMOVED' }));
  });
});

describe('when a pull request changes policies/', () => {
  const widened = POLICY.replace('maxDuration: 2h', 'maxDuration: 24h');

  it('refuses a policy change that carries no signed approvals', async () => {
    s.branch();
    s.repo.write('policies/production.yaml', widened);
    s.repo.commit('widen policy');
    const r = await s.runPull(8);
    expect(r.code).toBe(1);
    const [f] = errors(r);
    expect(f).toMatchObject({ file: 'policies/production.yaml', line: 1, col: 1, title: 'breakglass POLICY_UNAPPROVED' });
    expect(f!.message).toContain(`carries 0 of 1 signed approval for these bytes`);
    expect(f!.message).toContain(`${CLI_INVOCATION} approve --policy production`);
    expect(s.api.comments.get(8)![0]!.body).toContain('This pull request touches no session.');
  });

  it('accepts it with a signed approval for the new digest, not for the old one', async () => {
    s.branch();
    s.repo.write('policies/production.yaml', widened);
    const approvalFor = (digest: string) =>
      [
        'apiVersion: breakglass.dev/v1',
        'kind: PolicyApproval',
        'policy: production',
        `digest: ${digest}`,
        'repository: github.com/customer/access',
        'approver: alice',
        'signed: 2026-11-21T02:21:00Z',
        'nonce: "0123456789abcdef0123456789abcdef"',
        '',
      ].join('\n');
    s.repo.write('policies/approvals/production/alice.yaml', approvalFor(digestOf(POLICY)));
    s.repo.write('policies/approvals/production/alice.yaml.asc', 'signature');
    s.repo.commit('policy with a stale approval');
    const stale = await s.runPull(9);
    expect(stale.code).toBe(1);
    expect(errors(stale).map((a) => a.title)).toEqual(['breakglass POLICY_UNAPPROVED']);

    s.repo.write('policies/approvals/production/alice.yaml', approvalFor(digestOf(widened)));
    s.repo.commit('approve the new bytes');
    const ok = await s.runPull(9);
    expect(ok.code).toBe(0);
    expect(errors(ok)).toEqual([]);
  });
});

describe('when a pull request adds a record', () => {
  it('refuses it: only the runner writes records, on the default branch', async () => {
    s.branch();
    s.repo.write(`sessions/${ID}/request.yaml`, request(ID));
    s.repo.commit('request');
    s.merge();
    s.branch('forge');
    s.repo.write(`sessions/${ID}/record.yaml`, 'apiVersion: breakglass.dev/v1\nkind: Record\n');
    s.repo.write(`sessions/${ID}/record.yaml.asc`, 'signature');
    s.repo.commit('forged record');
    const r = await s.runPull(10);
    expect(r.code).toBe(1);
    const titles = errors(r).filter((a) => a.title === 'breakglass RECORD_IN_PULL_REQUEST');
    expect(titles.map((a) => a.file).sort()).toEqual([`sessions/${ID}/record.yaml`, `sessions/${ID}/record.yaml.asc`]);
    expect(titles[0]!.message).toContain('only by the runner');
  });
});

describe('when a pull request adds a recording chunk (issue 12)', () => {
  it('refuses it: only the runner writes recordings, on the default branch', async () => {
    s.branch();
    s.repo.write(`sessions/${ID}-rec/request.yaml`, request(`${ID}-rec`));
    s.repo.commit('request');
    s.merge();
    s.branch('forge-recording');
    s.repo.write(`sessions/${ID}-rec/recording/000001.pgp`, 'not really ciphertext');
    s.repo.commit('forged recording');
    const r = await s.runPull(12);
    expect(r.code).toBe(1);
    const titles = errors(r).filter((a) => a.title === 'breakglass RECORDING_IN_PULL_REQUEST');
    expect(titles.map((a) => a.file)).toEqual([`sessions/${ID}-rec/recording/000001.pgp`]);
  });
});

describe('when files outside sessions/ and policies/ change', () => {
  it('does not judge them', async () => {
    s.branch();
    s.repo.write('README.md', '# anything\n');
    s.repo.write('scripts/whatever.sh', 'echo hi\n');
    s.repo.commit('docs');
    const r = await s.runPull(11);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.outputs.sessions!)).toEqual([]);
    expect(r.annotations).toEqual([]);
  });
});
