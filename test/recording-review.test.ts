/**
 * What an auditor key finds inside a recording whose chain holds (a runner
 * that wrote the wrong thing), and what the review and the timeline make of
 * vendor-controlled text: escaped for Markdown, never markup.
 */
import { describe, expect, it } from 'vitest';
import { generateKeyPair, readPrivateKey, readPublicKey } from '../src/crypto/openpgp.js';
import { sealToKeys } from '../src/crypto/recording-seal.js';
import { chainHead, chainStart, formatHead, RECORDING_FORMAT } from '../src/core/recording.js';
import { openRecording } from '../src/core/recording-open.js';
import { printable, summarizeActivity, timelineRows } from '../src/core/recording-timeline.js';
import { code, md, renderReview } from '../src/core/review.js';
import type { SessionReport } from '../src/core/audit-types.js';

describe('a recording whose chain holds but whose contents are wrong', () => {
  async function signedAs(session: string, chunks: Uint8Array[]) {
    return { files: chunks.map((bytes, i) => ({ name: `${String(i + 1).padStart(6, '0')}.pgp`, bytes })), summary: { chunks: chunks.length, head: formatHead(chainHead(session, chunks)) } };
  }
  const header = (session: string, index = 1, prev = formatHead(chainStart(session))) => `${JSON.stringify({ format: RECORDING_FORMAT, session, index, prev })}\n`;

  it('is refused with FOREIGN, MALFORMED or UNREADABLE, and nothing of it is returned', async () => {
    const k = await generateKeyPair({ name: 'sec', email: 'sec@customer.example' });
    const pub = await readPublicKey(k.publicKey);
    const sec = await readPrivateKey(k.privateKey);
    const seal = (text: string) => sealToKeys([pub], Buffer.from(text));
    const cases: [Uint8Array, string][] = [
      [await seal(header('inc-other')), 'RECORDING_FOREIGN'],
      [await seal(header('inc-1', 2)), 'RECORDING_MALFORMED'],
      [await seal(`${header('inc-1')}not json\n`), 'RECORDING_MALFORMED'],
      [Buffer.from('plain text, not OpenPGP'), 'RECORDING_UNREADABLE'],
    ];
    for (const [bytes, want] of cases) {
      const { files, summary } = await signedAs('inc-1', [bytes]);
      const opened = await openRecording('inc-1', files, summary, sec);
      expect(opened, want).toEqual({ ok: false, findings: [expect.objectContaining({ code: want })] });
    }
  });
});

describe('vendor-controlled text', () => {
  const hostile = '[click](javascript:alert(1)) <img src=x onerror=alert(1)> `tick` *bold* | pipe\n# heading';

  it('is inline text in Markdown: no link, image, HTML, heading or table cell survives', () => {
    const out = md(hostile);
    expect(out).not.toMatch(/<img|\]\(|\n/);
    expect(out).toContain('\\[click\\]\\(javascript:alert\\(1\\)\\)');
    expect(code('a `b` c')).toBe('``a `b` c``');
    expect(code('`edge`')).toBe('`` `edge` ``');
  });

  it('reaches the review only escaped', () => {
    const events = [
      {
        seq: 1,
        time: '2026-11-21T02:28:00Z',
        type: 'request' as const,
        id: 'r1',
        method: 'POST',
        path: '/x',
        query: '',
        verb: 'create',
        resource: { group: '', version: 'v1', resource: 'pods', namespace: 'payments', name: hostile, subresource: 'exec' },
        argv: [hostile],
      },
      { seq: 2, time: '2026-11-21T02:28:00Z', type: 'response' as const, id: 'r1', status: 101, bytes: 0 },
    ];
    const session: SessionReport = { id: 'inc-1', status: 'recorded', reason: hostile, approvals: [], findings: [] };
    const text = renderReview({ session, recording: { state: 'opened', events }, repository: 'github.com/customer/access', at: '2026-11-22T12:00:00Z' });
    // Code spans are literal in Markdown; outside them nothing may be markup.
    const prose = text.replace(/(`+)[\s\S]*?\1/g, '');
    expect(prose).not.toMatch(/<img|\]\(javascript/);
    expect(text).toContain('``pods/[click](javascript:alert(1))');
    // In a table a pipe is escaped even inside a code span, so no cell can be added.
    const row = text.split('\n').find((l) => l.startsWith('| Reason |'))!;
    expect(row.split(/(?<!\\)\|/).length).toBe(4);
    expect(text.split('\n').filter((l) => l.startsWith('# '))).toEqual(['# Post-incident review: inc\\-1']);
    expect(summarizeActivity(timelineRows(events)).execd).toHaveLength(1);
  });

  it('in streams is printable: control bytes become dots, long output is cut', () => {
    expect(printable(Buffer.from('ok\u001b[2J\u0007\tend\n'))).toBe('ok.[2J.\tend\n');
    expect(printable(Buffer.from('x'.repeat(500)), 10)).toBe('xxxxxxxxxx… (490 more characters)');
  });
});
