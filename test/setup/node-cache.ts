/**
 * Vitest global setup, after the sweep (it needs the run's private TMPDIR):
 * Node's on-disk compile cache for the whole run. The tests start Node a few
 * hundred times (the real `breakglass` binary, the bundled Action, the test
 * workers themselves), and each start would otherwise parse and compile the
 * same modules again, the 3.6 MB Action bundle first of all. The cache holds
 * V8 code only, checked against each file's contents, so it changes nothing a
 * test observes; it is removed at the end, before the sweep looks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'node-compile-cache-'));
  const previous = process.env.NODE_COMPILE_CACHE;
  process.env.NODE_COMPILE_CACHE = dir;
  return () => {
    if (previous === undefined) delete process.env.NODE_COMPILE_CACHE;
    else process.env.NODE_COMPILE_CACHE = previous;
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
}
