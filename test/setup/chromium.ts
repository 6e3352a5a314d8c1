/**
 * Vitest global setup: headless Chromium for the tests that look at what a
 * person sees (the HTML audit report), found or installed the way the API
 * server is, so `npm test` works on a fresh Debian machine. Provided to tests
 * as `inject('chromium')`: `{ path }`, or `{ missing }` saying why there is
 * none and what to do (the tests that need it fail with that message).
 *
 *   BREAKGLASS_CHROMIUM   a Chromium or Chrome binary to use instead
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';

export type ChromiumInfo = { path: string } | { missing: string };

declare module 'vitest' {
  export interface ProvidedContext {
    chromium: ChromiumInfo;
  }
}

const DEBIAN_PATH = '/usr/bin/chromium';
const log = (s: string) => process.stderr.write(`[chromium] ${s}\n`);

function sh(script: string): Promise<{ code: number; output: string }> {
  return new Promise((res) => {
    execFile('sh', ['-c', script], { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** What ensureChromium touches, injectable so each outcome can be tested without uninstalling anything. */
export interface ChromiumWorld {
  env: NodeJS.ProcessEnv;
  debianPath: string;
  isRoot: boolean;
  exists: (path: string) => boolean;
  sh: (script: string) => Promise<{ code: number; output: string }>;
  log: (s: string) => void;
}

const REAL: ChromiumWorld = { env: process.env, debianPath: DEBIAN_PATH, isRoot: process.getuid?.() === 0, exists: existsSync, sh, log };

/** Finds Chromium, or installs Debian's package when this process may (root or passwordless sudo). */
export async function ensureChromium(w: ChromiumWorld = REAL): Promise<ChromiumInfo> {
  const named = w.env.BREAKGLASS_CHROMIUM;
  if (named) return w.exists(named) ? { path: named } : { missing: `BREAKGLASS_CHROMIUM names ${named}, which does not exist` };
  if (w.exists(w.debianPath)) return { path: w.debianPath };
  const sudo = w.isRoot ? '' : 'sudo -n ';
  if (sudo && (await w.sh('sudo -n true')).code !== 0) {
    return {
      missing: `headless Chromium is needed and ${w.debianPath} is missing; this user is not root and has no passwordless sudo: install the Debian package chromium (apt-get install chromium), or set BREAKGLASS_CHROMIUM to a Chromium binary`,
    };
  }
  w.log('installing the Debian package chromium (once; a few minutes)');
  const r = await w.sh(`${sudo}apt-get update -qq && ${sudo}apt-get install -y -qq --no-install-recommends chromium`);
  if (r.code !== 0 || !w.exists(w.debianPath)) {
    return { missing: `apt-get install chromium failed (exit ${r.code}); install it by hand or set BREAKGLASS_CHROMIUM:\n${r.output.trim().split('\n').slice(-10).join('\n')}` };
  }
  w.log(`installed ${w.debianPath}`);
  return { path: w.debianPath };
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('chromium', await ensureChromium());
}
