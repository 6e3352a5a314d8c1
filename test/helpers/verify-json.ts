/**
 * `breakglass verify --json`, for tests that judge one session at a given
 * time: in-process by default (the same `run` the binary calls, without a
 * Node start per verdict), or through the real binary under Node 24.
 */
import { expect } from 'vitest';
import { REPOSITORY } from './approvals.js';
import { binary, cli } from './cli.js';

/** What `verify --json` prints, as far as these tests read it. */
export interface VerifyJson {
  approved: boolean;
  accepted: { approver: string; keyId: string; signingKey: string }[];
  reasons: { code: string; file?: string; message: string }[];
}

/** Runs `verify ID --trust TRUST --at AT --json` in `repoDir`; stderr must stay empty (an exit 2 fails the test here). */
export async function verifyJson(id: string, trust: string, repoDir: string, at: string, via: 'in-process' | 'binary' = 'in-process'): Promise<{ code: number; json: VerifyJson }> {
  const args = ['verify', id, '--trust', trust, '--repo', repoDir, '--repository', REPOSITORY, '--at', at, '--json'];
  const r = via === 'binary' ? await binary(args, { cwd: repoDir }) : await cli(args, { cwd: repoDir });
  expect(r.stderr).toBe('');
  return { code: r.code, json: JSON.parse(r.stdout) as VerifyJson };
}
