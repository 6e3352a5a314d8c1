/** `breakglass verify --json` through the real binary, for tests that judge one session at a given time. */
import { expect } from 'vitest';
import { REPOSITORY } from './approvals.js';
import { binary } from './cli.js';

/** What `verify --json` prints, as far as these tests read it. */
export interface VerifyJson {
  approved: boolean;
  accepted: { approver: string; keyId: string; signingKey: string }[];
  reasons: { code: string; file?: string; message: string }[];
}

/** Runs `verify ID --trust TRUST --at AT --json` in `repoDir`; stderr must stay empty (an exit 2 fails the test here). */
export async function verifyJson(id: string, trust: string, repoDir: string, at: string): Promise<{ code: number; json: VerifyJson }> {
  const r = await binary(['verify', id, '--trust', trust, '--repo', repoDir, '--repository', REPOSITORY, '--at', at, '--json'], { cwd: repoDir });
  expect(r.stderr).toBe('');
  return { code: r.code, json: JSON.parse(r.stdout) as VerifyJson };
}
