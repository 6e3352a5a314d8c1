/** kubectl as the vendor would run it, with a given kubeconfig. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function kubectl(kubeconfig: string, ...args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    return { ok: true, out: (await run('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 30_000 })).stdout };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
  }
}

/**
 * Retries a command that should succeed: the API server's RBAC authorizer
 * learns of a new binding from its informer, which under load takes a moment.
 * Bounded polling, never a timing assertion.
 */
export async function kubectlEventually(kubeconfig: string, ...args: string[]): Promise<{ ok: boolean; out: string }> {
  let r = await kubectl(kubeconfig, ...args);
  for (let i = 0; i < 20 && !r.ok; i++) {
    await new Promise((res) => setTimeout(res, 500));
    r = await kubectl(kubeconfig, ...args);
  }
  return r;
}
