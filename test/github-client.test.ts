/**
 * The one Octokit client (adapters/github.ts) that the Action and the runner's
 * GitHub channel share, against a real local HTTP server: it names itself and
 * sends the token, retries only when asked, and a request that never gets an
 * answer fails instead of stalling the caller.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createOctokit } from '../src/adapters/github.js';

let server: Server | undefined;
const seen: IncomingMessage[] = [];

async function serve(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  seen.length = 0;
  server = createServer((req, res) => {
    seen.push(req);
    answer(req, res);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const noDelay = async () => {};

describe('the shared GitHub client', () => {
  it('sends the token and names its caller in the user agent', async () => {
    const baseUrl = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"login":"octo"}'));
    const octokit = createOctokit({ token: 't0ken', baseUrl, userAgent: 'breakglass-runner', retry: false });
    await octokit.request('GET /user');
    expect(seen[0]?.headers.authorization).toBe('token t0ken');
    expect(seen[0]?.headers['user-agent']).toMatch(/^breakglass-runner /);
  });

  it('without retries (the runner) asks once on a 502', async () => {
    const baseUrl = await serve((_req, res) => res.writeHead(502).end());
    const octokit = createOctokit({ token: 't', baseUrl, userAgent: 'breakglass-runner', retry: false });
    await expect(octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner: 'o', repo: 'r', issue_number: 1, body: 'x' })).rejects.toMatchObject({ status: 502 });
    expect(seen).toHaveLength(1);
  });

  it('with retries (the Action) asks again after a 502 and returns the answer', async () => {
    let n = 0;
    const baseUrl = await serve((_req, res) => (n++ === 0 ? res.writeHead(502).end() : res.writeHead(200, { 'content-type': 'application/json' }).end('[]')));
    const octokit = createOctokit({ token: 't', baseUrl, userAgent: 'breakglass-action', retry: { attempts: 3, baseMs: 1, maxDelayMs: 1, delayFn: noDelay } });
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls', { owner: 'o', repo: 'r' });
    expect(data).toEqual([]);
    expect(seen).toHaveLength(2);
  });

  it('fails a request that never gets an answer, each attempt on its own timeout', async () => {
    const baseUrl = await serve(() => {});
    const octokit = createOctokit({ token: 't', baseUrl, userAgent: 'breakglass-action', timeoutMs: 100, retry: { attempts: 2, baseMs: 1, maxDelayMs: 1, delayFn: noDelay } });
    await expect(octokit.request('GET /user')).rejects.toMatchObject({ status: 500 });
    expect(seen).toHaveLength(2);
  });
});
