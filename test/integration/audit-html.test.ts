/**
 * The HTML report, opened in Debian's headless Chromium: it renders offline,
 * shows every session and every finding, runs nothing an attacker wrote, and
 * a screenshot is kept for a person to look at.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import type { AuditReport } from '../../src/core/audit.js';
import { cli } from '../helpers/cli.js';
import { AUDIT_NOW, AuditRepo, T } from '../helpers/audit-history.js';

const HOSTILE = 'INC-7: <img src=x onerror="document.title=\'pwned\'"><script>document.title=\'pwned\'</script> & "quotes"';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Five sessions: clean, hostile-but-clean, forged, teardown left something, pending. */
async function mixedHistory(): Promise<AuditRepo> {
  const repo = await AuditRepo.create();
  const policy = await repo.policy(T('02:00:00'));
  await repo.session('inc-4411-prod-crashloop', policy);
  await repo.session('inc-4412-hostile-reason', policy, { reason: HOSTILE, end: false, record: { ended: T('03:22:03'), endReason: 'expired' } });
  await repo.session('inc-4413-late-end', policy, { record: { ended: T('02:44:00') } });
  const deleted = [{ kind: 'ServiceAccount', apiVersion: 'v1', namespace: 'breakglass-system', name: 'bg-inc-4414-leftover' }];
  await repo.session('inc-4414-leftover', policy, { record: { teardown: { deleted, completed: T('02:40:03'), errors: [] } } });
  repo.request('inc-4415-pending');
  repo.commit(T('04:00:00'));
  return repo;
}

describe('the HTML audit report in headless Chromium', () => {
  it('renders offline, shows every session and finding, escapes attacker text, and is screenshotted', async () => {
    const repo = await mixedHistory();
    const out = mkdtempSync(join(tmpdir(), 'bg-audit-html-'));
    const html = join(out, 'audit.html');
    const r = await cli(['audit', '--trust', repo.trustFile, '--repo', repo.dir, '--json', '--html', html], { cwd: repo.dir, now: AUDIT_NOW });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as AuditReport;
    const findings = report.sessions.flatMap((s) => s.findings);
    expect(new Set(findings.map((f) => f.code))).toEqual(new Set(['END_NOT_HONOURED', 'TEARDOWN_INCOMPLETE']));
    expect(readFileSync(html, 'utf8')).not.toMatch(/<script|<img|<link|@import|url\(/i);

    const browser = inject('chromium');
    // No Chromium and no way to install it: fail with the reason, never skip quietly.
    if ('missing' in browser) expect.fail(browser.missing);
    const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'bg-chromium-')), {
      executablePath: browser.path,
      headless: true,
      args: ARGS,
      viewport: { width: 1200, height: 900 },
    });
    try {
      const requests: string[] = [];
      context.on('request', (q) => requests.push(q.url()));
      const page = await context.newPage();
      await page.goto(pathToFileURL(html).href);
      expect(await page.title()).toContain('breakglass audit');
      for (const s of report.sessions) {
        const card = page.locator(`article[id="session-${s.id}"]`);
        await expect.poll(() => card.isVisible()).toBe(true);
        expect(await card.locator('h2').innerText()).toBe(s.id);
        for (const f of s.findings) expect(await card.locator('.findings').innerText()).toContain(f.message);
      }
      // The hostile reason is shown as text, never run or rendered as markup.
      expect(await page.locator('.reason', { hasText: '<script>' }).count()).toBe(1);
      expect(await page.locator('.reason img, .reason script').count()).toBe(0);
      expect(await page.title()).not.toContain('pwned');
      expect(await page.locator('.verdict.dirty').innerText()).toContain('finding');
      expect(await page.locator('.approvals, table').first().innerText()).toContain(repo.keys.alice!.fingerprint.slice(0, 4));
      const shot = join(out, 'audit.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
      process.stderr.write(`audit report screenshot: ${shot}\n`);
    } finally {
      await context.close();
    }
  });
});
