/**
 * Vitest global setup, first in the list so its teardown runs last: the whole
 * run gets a private temporary directory (TMPDIR, inherited by every worker,
 * git, gpg and the API server), and at the end everything still in it is
 * reported and removed: temporary directories, and gpg-agents (or any other
 * process) whose command line or environment points into it. Other users of
 * /tmp on the machine are never touched: only this run's directory is swept.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Processes whose command line mentions `dir` (gpg-agent --homedir ...), or
 * whose GNUPGHOME points into it. Not TMPDIR: every worker of this run has
 * that, and they are vitest's to stop.
 */
function processesUsing(dir: string): { pid: number; name: string }[] {
  const found: { pid: number; name: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cmd.includes(dir) || environ.includes(`GNUPGHOME=${dir}`)) found.push({ pid, name: cmd.split('\0')[0] ?? '?' });
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return found;
}

export default function setup(): () => Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'breakglass-test-run-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return async () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    const procs = processesUsing(dir);
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        // Exited meanwhile.
      }
    }
    const left = readdirSync(dir);
    if (procs.length || left.length) {
      process.stderr.write(`[sweep] tests left behind ${left.length} temporary entr${left.length === 1 ? 'y' : 'ies'} and ${procs.length} process${procs.length === 1 ? '' : 'es'}; removed:\n`);
      for (const p of procs) process.stderr.write(`[sweep]   process ${p.pid} ${p.name}\n`);
      for (const n of left.slice(0, 50)) process.stderr.write(`[sweep]   ${n}\n`);
    }
    if (procs.length) await new Promise((r) => setTimeout(r, 500));
    // A worker that is still exiting may write into the directory while it is removed (Node
    // flushes its compile cache at exit): removal then fails with ENOTEMPTY, and vitest would
    // exit 1 with every test passed. rmSync retries that (and EBUSY) with a linear backoff.
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
}
