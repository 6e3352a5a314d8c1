// The cost of notifications where they touch a session's life: queueing an
// event in the runner's outbox (what activation and teardown wait for) against
// writing one file of the same size, and sending a signed webhook (render,
// HMAC, POST) against a plain POST of the same bytes to the same loopback
// server. Figures only, next to their baseline, with the ratio.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendOnce } from '../lib/adapters/notify-send.js';
import { webhookBody } from '../lib/core/notify-render.js';
import { Notifier } from '../lib/runner/notify.js';
import { timed } from './common/baseline.js';

const N = 300;
const row = (label, ms, base, baseLabel) => `  ${label.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms   baseline ${baseLabel.padEnd(22)} ${base.toFixed(0).padStart(6)} ms   ratio ${(ms / base).toFixed(2)}x`;

const facts = (i) => ({ session: `inc-${i}`, resource: 'prod-eu', privilege: 'view', duration: '1h requested; 1h effective', requester: 'oncall@vendor.example', reason: 'INC-4411: api pods crash-looping after cert rotation', approvals: { have: 1, need: 1 }, repository: 'github.com/customer/access', link: `https://github.com/customer/access/commit/${'a'.repeat(40)}`, approveCommand: `npx --yes breakglass@0.1.0 approve inc-${i} --key <your-key.asc> --commit` });

export default async function bench() {
  const server = createServer((req, res) => req.resume().on('end', () => res.end('ok')));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/hook`;
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-notify-'));
  const channel = { type: 'webhook', name: 'webhook', url, secret: 'bench-secret', expiringBefore: '10m' };
  const notifier = new Notifier({ stateDir: join(dir, 'state'), channels: [channel], now: Date.now, log: () => {}, timeoutMs: 5000, backoffMs: 1000, maxRounds: 12 });
  const event = (i) => ({ type: 'activated', at: '2026-12-02T13:00:00Z', session: facts(i), detail: { expires: '2026-12-02T14:00:00Z' } });
  try {
    for (let i = 0; i < 20; i++) await sendOnce(channel, event(i), randomUUID(), { timeoutMs: 5000 });
    const [plainWrite] = await timed(async () => {
      for (let i = 0; i < N; i++) await writeFile(join(dir, `plain-${i}.json`), JSON.stringify({ id: randomUUID(), channel: 'webhook', event: event(i), rounds: 0, notBefore: 0, queued: 0 }));
    });
    const [queue] = await timed(async () => {
      for (let i = 0; i < N; i++) await notifier.emit('activated', `inc-${i}`, { expires: '2026-12-02T14:00:00Z' }, { fallback: facts(i) });
    });
    const bodies = Array.from({ length: N }, (_, i) => webhookBody(event(i), randomUUID()));
    const [plainPost] = await timed(async () => {
      for (const body of bodies) await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).text();
    });
    const [signed] = await timed(async () => {
      for (let i = 0; i < N; i++) await sendOnce(channel, event(i), randomUUID(), { timeoutMs: 5000 });
    });
    console.log(`notifications: ${N} events, sequential, one run;`);
    console.log(row('runner: queue one event (outbox file)', queue, plainWrite, 'one writeFile'));
    console.log(row('send: signed webhook (render+HMAC+POST)', signed, plainPost, 'plain POST, same body'));
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
