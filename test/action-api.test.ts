/**
 * The Action when the API is not on its side: a fork's read-only token, 5xx
 * answers (retried with backoff, then reported), pagination, and a push to
 * the default branch (no API calls at all).
 *
 * In-process (test/github-fake/harness.ts) except two bundle runs: the run
 * that holds in-process results to the bundle's byte for byte (a fork's
 * pull request with findings: annotations, a notice, the read-only warning,
 * outputs, summary, exit code 1, nothing on stderr), and the API that never
 * recovers (an error thrown through the one catch: the error line on stdout,
 * exit code 1, nothing on stderr).
 */
import { describe, expect, it } from 'vitest';
import { request, runAction, useScenario, type RunResult } from './github-fake/harness.js';

const ID = 'inc-4411-prod-crashloop';

const s = useScenario();

function addRequest(id = ID): void {
  s.repo.write(`sessions/${id}/request.yaml`, request(id));
}

/** A fork's pull request (read-only token `ghs_fork`) adding the request and a broken end marker, not yet committed. */
function forkWithBrokenEnd(): void {
  s.api.readOnlyTokens.add('ghs_fork');
  s.branch();
  addRequest();
  s.repo.write(`sessions/${ID}/end.yaml`, 'kind: End\n');
}

describe('when the pull request comes from a fork (read-only token)', () => {
  it('degrades to annotations and the job summary, with a clear notice, and does not crash', async () => {
    forkWithBrokenEnd();
    s.repo.commit('request with a broken end marker');
    const r = await s.runPull(21, { fork: true, token: 'ghs_fork' });

    expect(r.code).toBe(1); // the broken end.yaml is a finding; the 403 is not
    expect(s.api.comments.get(21)).toBeUndefined();
    expect(s.api.requests.filter((q) => q.method === 'POST').map((q) => q.status)).toEqual([403]);
    const warning = r.annotations.find((a) => a.level === 'warning' && a.message.includes('read-only'));
    expect(warning?.message).toContain('the pull request comes from a fork');
    expect(warning?.message).toContain('in the annotations and in this job summary');
    expect(r.annotations).toContainEqual(expect.objectContaining({ level: 'error', file: `sessions/${ID}/end.yaml`, line: 1, col: 1 }));
    expect(r.summary).toMatch(/^> \[!WARNING\]\n> The approval view could not be posted/);
    expect(r.summary).toContain(`Break-glass request \`${ID}\``);
    expect(r.summary).toContain('| **Approvals** | 0 of 2 |');
    expect(r.stdout).not.toContain('Unhandled');
    expect(r.outputs.sessions).toBe(JSON.stringify([ID]));
  });

  it('succeeds when the request itself is in order', async () => {
    s.api.readOnlyTokens.add('ghs_fork');
    s.branch();
    addRequest();
    s.repo.commit('request');
    const r = await s.runPull(22, { fork: true, token: 'ghs_fork' });
    expect(r.code).toBe(0);
    expect(r.annotations.map((a) => a.level)).toEqual(['warning']);
  });
});

describe('when the API answers 5xx', () => {
  it('retries with backoff and carries on when the API recovers', async () => {
    s.api.faults.push({ method: 'GET', path: /\/issues\/23\/comments$/, status: 502, times: 2 });
    s.branch();
    addRequest();
    s.repo.commit('request');
    const r = await s.runPull(23);

    expect(r.code).toBe(0);
    expect(s.api.requests.filter((q) => q.path.includes('/issues/23/comments') && q.method === 'GET').map((q) => q.status)).toEqual([502, 502, 200]);
    expect(r.annotations.filter((a) => a.level === 'warning').map((a) => a.message)).toEqual([
      expect.stringMatching(/answered 502; retry 1 of 3 in 250 ms/),
      expect.stringMatching(/answered 502; retry 2 of 3 in 500 ms/),
    ]);
    expect(s.api.comments.get(23)).toHaveLength(1);
  });

  it('gives up after a bounded number of attempts and reports which call failed', async () => {
    s.api.faults.push({ method: 'GET', path: /\/pulls\/24\/files$/, status: 503, times: 100 });
    s.branch();
    addRequest();
    s.repo.commit('request');
    const r = await s.runPull(24, { bundle: true });

    expect(r.code).toBe(1);
    expect(s.api.requests.filter((q) => q.path.includes('/pulls/24/files'))).toHaveLength(4);
    expect(r.stdout).toMatch(/^::error::breakglass: GITHUB_API: GitHub API GET \/repos\/customer\/access\/pulls\/24\/files failed with HTTP 503 after 4 attempts/m);
    expect(r.stderr).toBe('');
  });

  it('reports a comment that cannot be written, and still annotates and summarizes', async () => {
    s.api.faults.push({ method: 'POST', path: /\/issues\/25\/comments$/, status: 500, times: 100 });
    s.branch();
    addRequest();
    s.repo.commit('request');
    const r = await s.runPull(25);

    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^::error::The approval view could not be posted as a pull request comment\. GitHub API POST .* failed with HTTP 500 after 4 attempts/m);
    expect(r.summary).toContain('| **Approvals** | 0 of 2 |');
    expect(r.outputs.status).toBe(JSON.stringify({ [ID]: 'pending' }));
  });
});

describe('when a pull request has more files than one page holds', () => {
  it('follows the Link header through every page', async () => {
    s.api.maxPerPage = 2;
    s.branch();
    for (const id of ['inc-1-a', 'inc-2-b', 'inc-3-c']) addRequest(id);
    s.repo.write(`sessions/inc-3-c/record.yaml`, 'kind: Record\n');
    s.repo.commit('three requests and a record');
    const r = await s.runPull(26);

    expect(s.api.requests.filter((q) => q.path.includes('/pulls/26/files')).map((q) => q.path)).toEqual([
      '/repos/customer/access/pulls/26/files?per_page=100',
      '/repos/customer/access/pulls/26/files?per_page=2&page=2',
    ]);
    expect(JSON.parse(r.outputs.sessions!)).toEqual(['inc-1-a', 'inc-2-b', 'inc-3-c']);
    expect(r.annotations).toContainEqual(expect.objectContaining({ file: 'sessions/inc-3-c/record.yaml', title: 'breakglass RECORD_IN_PULL_REQUEST' }));
  });
});

describe('when GitHub lists fewer files than the pull request changes (its 3,000-file cap)', () => {
  it('fails: a change the list leaves out is one the file rules never see', async () => {
    s.branch();
    addRequest();
    s.repo.commit('request');
    const r = await s.runPull(27, { changedFiles: 3001 });
    expect(r.code).toBe(1);
    expect(r.annotations).toContainEqual(expect.objectContaining({ level: 'error', title: 'breakglass PULL_REQUEST_TOO_LARGE', message: expect.stringContaining('listed 1 of the 3001 files') }));
  });
});

describe('in-process and as the bundle', () => {
  // Bundle: this test holds the harness's recording io to what dist/index.js prints, sets and writes.
  it('print, set and write the same for the same run: annotations (escaped), notice, warning, outputs, summary, failure', async () => {
    forkWithBrokenEnd();
    s.repo.write(`sessions/${ID}/notes, 100%: see\nhere.txt`, 'x\n');
    s.repo.commit('request, a broken end marker, an unexpected file with a name to escape');
    const opts = { fork: true, token: 'ghs_fork', inputs: { notify: '- { type: slack, urlEnv: BG_SLACK_URL }' } };
    const inProcess = await s.runPull(28, opts);
    const bundled = await s.runPull(28, { ...opts, bundle: true });

    // Octokit's debug lines time each request; nothing else may differ.
    const steady = (r: RunResult) => ({ ...r, stderr: '', stdout: r.stdout.replace(/^(::debug::.*) in \d+ms$/gm, '$1 in (time)') });
    expect(bundled.stderr).toBe('');
    expect(steady(inProcess)).toEqual(steady(bundled));
    expect(inProcess.code).toBe(1);
    expect(new Set(inProcess.annotations.map((a) => a.level))).toEqual(new Set(['error', 'warning', 'notice']));
    expect(inProcess.annotations).toContainEqual(expect.objectContaining({ level: 'error', file: `sessions/${ID}/notes, 100%: see\nhere.txt` }));
    expect(inProcess.stdout).toContain('notes%2C 100%25%3A see%0Ahere.txt');
    expect(Object.keys(inProcess.outputs)).toEqual(['sessions', 'status', 'approvals', 'findings']);
    expect(inProcess.summary).toContain('| **Approvals** | 0 of 2 |');
  });
});

describe('when a push lands on the default branch', () => {
  it('validates every session, writes no comment and calls no API', async () => {
    addRequest('inc-1-a');
    s.repo.write('sessions/inc-2-b/request.yaml', request('inc-2-b', { duration: '9h' }));
    const sha = s.repo.commit('two sessions');
    const r = await runAction({ workspace: s.repo.dir, api: s.api.url, event: 'push', payload: { ref: 'refs/heads/main', after: sha, repository: { default_branch: 'main' } } });

    expect(r.code).toBe(1);
    expect(s.api.requests).toEqual([]);
    expect(JSON.parse(r.outputs.status!)).toEqual({ 'inc-1-a': 'pending', 'inc-2-b': 'pending' });
    expect(r.annotations).toEqual([
      expect.objectContaining({ file: 'sessions/inc-2-b/request.yaml', line: 11, title: 'breakglass POLICY_DURATION' }),
      expect.objectContaining({ level: 'error', file: undefined }),
    ]);
    expect(r.summary).toContain('| `inc-1-a` | pending | prod-eu | cluster-admin | 0 of 2 |');
  });

  it('reads sessions and policies from the folders the inputs name', async () => {
    s.repo.git('mv', 'policies', 'access-policies');
    s.repo.write('access/sessions/inc-1-a/request.yaml', request('inc-1-a', { duration: '9h' }));
    const sha = s.repo.commit('moved');
    const r = await runAction({ workspace: s.repo.dir, api: s.api.url, event: 'push', payload: { after: sha }, inputs: { sessions: 'access/sessions', policies: 'access-policies' } });
    expect(JSON.parse(r.outputs.sessions!)).toEqual(['inc-1-a']);
    expect(r.annotations[0]).toMatchObject({ file: 'access/sessions/inc-1-a/request.yaml', title: 'breakglass POLICY_DURATION' });
  });
});
