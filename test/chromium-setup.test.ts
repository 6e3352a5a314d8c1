/**
 * How `npm test` gets Chromium on a fresh machine (test/setup/chromium.ts):
 * each outcome, with the machine played by an injected world (nothing is
 * uninstalled or installed here).
 */
import { describe, expect, it } from 'vitest';
import { ensureChromium, type ChromiumWorld } from './setup/chromium.js';

function world(over: Partial<ChromiumWorld> & { present?: string[]; shell?: Record<string, { code: number; output: string }> }): ChromiumWorld & { ran: string[] } {
  const present = new Set(over.present ?? []);
  const ran: string[] = [];
  return {
    env: {},
    debianPath: '/usr/bin/chromium',
    isRoot: false,
    exists: (p) => present.has(p),
    sh: async (script) => {
      ran.push(script);
      const r = Object.entries(over.shell ?? {}).find(([k]) => script.includes(k))?.[1] ?? { code: 0, output: '' };
      if (script.includes('apt-get install') && r.code === 0) present.add('/usr/bin/chromium');
      return r;
    },
    log: () => {},
    ...over,
    ran,
  };
}

describe('finding or installing Chromium for the tests', () => {
  it('uses Debian’s /usr/bin/chromium when it is there, and installs nothing', async () => {
    const w = world({ present: ['/usr/bin/chromium'] });
    expect(await ensureChromium(w)).toEqual({ path: '/usr/bin/chromium' });
    expect(w.ran).toEqual([]);
  });

  it('uses BREAKGLASS_CHROMIUM when set, and says so when it names nothing', async () => {
    expect(await ensureChromium(world({ env: { BREAKGLASS_CHROMIUM: '/opt/chrome' }, present: ['/opt/chrome'] }))).toEqual({ path: '/opt/chrome' });
    expect(await ensureChromium(world({ env: { BREAKGLASS_CHROMIUM: '/opt/nope' } }))).toEqual({ missing: 'BREAKGLASS_CHROMIUM names /opt/nope, which does not exist' });
  });

  it('installs the Debian package as root when it is missing', async () => {
    const w = world({ isRoot: true });
    expect(await ensureChromium(w)).toEqual({ path: '/usr/bin/chromium' });
    expect(w.ran).toEqual(['apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium']);
  });

  it('installs it through passwordless sudo for a normal user', async () => {
    const w = world({});
    expect(await ensureChromium(w)).toEqual({ path: '/usr/bin/chromium' });
    expect(w.ran).toEqual(['sudo -n true', 'sudo -n apt-get update -qq && sudo -n apt-get install -y -qq --no-install-recommends chromium']);
  });

  it('says what to do, and installs nothing, without root or passwordless sudo', async () => {
    const w = world({ shell: { 'sudo -n true': { code: 1, output: 'sudo: a password is required' } } });
    const r = await ensureChromium(w);
    expect(r).toEqual({
      missing: expect.stringContaining('this user is not root and has no passwordless sudo: install the Debian package chromium (apt-get install chromium), or set BREAKGLASS_CHROMIUM'),
    });
    expect(w.ran).toEqual(['sudo -n true']);
  });

  it('reports apt-get’s own last lines when the install fails', async () => {
    const w = world({ isRoot: true, shell: { 'apt-get install': { code: 100, output: 'E: Unable to locate package chromium' } } });
    expect(await ensureChromium(w)).toEqual({ missing: 'apt-get install chromium failed (exit 100); install it by hand or set BREAKGLASS_CHROMIUM:\nE: Unable to locate package chromium' });
  });
});
