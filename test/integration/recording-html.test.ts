/**
 * The HTML audit report links each session's post-incident review (issue 12),
 * written beside it by `audit --html`, and shows whether each recording
 * matches its signed record — opened in headless Chromium.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { AUDIT_NOW, AuditRepo, T } from '../helpers/audit-history.js';
import { cli } from '../helpers/cli.js';
import { MARKERS, recordedSession } from '../helpers/recording.js';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('the HTML audit report of recorded sessions', () => {
  it("links each session's review and shows each recording's verdict", async () => {
    const repo = await AuditRepo.create();
    const policy = await repo.policy(T('02:00:00'));
    await recordedSession(repo, 'inc-recorded', policy);
    await recordedSession(repo, 'inc-dropped', policy, { tamper: (c) => c.slice(0, -1).map((x) => ({ name: x.fileName, bytes: x.bytes })) });
    await repo.session('inc-unrecorded', policy);
    const out = mkdtempSync(join(tmpdir(), 'bg-rec-html-'));
    const html = join(out, 'audit.html');
    const r = await cli(['audit', '--trust', repo.trustFile, '--repo', repo.dir, '--html', html], { cwd: repo.dir, now: AUDIT_NOW });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('RECORDING_TRUNCATED session inc-dropped');

    const browser = inject('chromium');
    if ('missing' in browser) expect.fail(browser.missing);
    const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'bg-chromium-')), { executablePath: browser.path, headless: true, args: ARGS });
    try {
      const page = await context.newPage();
      await page.goto(pathToFileURL(html).href);
      for (const id of ['inc-recorded', 'inc-dropped', 'inc-unrecorded']) {
        const link = page.locator(`article[id="session-${id}"] a.review`);
        await expect.poll(() => link.isVisible()).toBe(true);
        const target = fileURLToPath(new URL((await link.getAttribute('href'))!, page.url()));
        expect(target).toBe(join(out, 'reviews', `${id}.md`));
        expect(existsSync(target)).toBe(true);
        const review = readFileSync(target, 'utf8');
        expect(review).toContain(`# Post-incident review: ${id.replace(/-/g, '\\-')}`);
        expect(review).not.toContain(MARKERS.argv);
      }
      expect(await page.locator('article[id="session-inc-recorded"] .facts').textContent()).toContain('4 chunk(s), chain verified');
      expect(await page.locator('article[id="session-inc-dropped"] .facts').textContent()).toContain('does NOT match the signed record');
      expect(await page.locator('article[id="session-inc-dropped"] .findings').textContent()).toContain('RECORDING_TRUNCATED');
      expect(readFileSync(join(out, 'reviews', 'inc-unrecorded.md'), 'utf8')).toContain('The session was not recorded');
    } finally {
      await context.close();
    }
  });
});
