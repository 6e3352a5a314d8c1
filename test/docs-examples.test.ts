/**
 * The example files under docs/examples/ are loaded by the project's own
 * loaders, so they cannot drift from the schemas: the trust file through
 * loadTrust (with real keys written where it points), the runner config
 * through loadRunnerConfig.
 */
import { generateKeyPairSync } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAuditors, loadRunnerKeys, loadTrust } from '../src/adapters/trust.js';
import { generateKeyPair } from '../src/crypto/openpgp.js';
import { loadRunnerConfig } from '../src/runner/config.js';
import { ROOT } from './helpers/cli.js';

const EXAMPLES = join(ROOT, 'docs', 'examples');
let dir = '';

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('docs/examples/trust.yaml', () => {
  it('loads with loadTrust: four approvers, threshold 2, the runner key and an auditor', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-doc-examples-'));
    await copyFile(join(EXAMPLES, 'trust.yaml'), join(dir, 'trust.yaml'));
    await mkdir(join(dir, 'keys'));
    for (const name of ['alice', 'bob', 'runner', 'sec-team']) {
      await writeFile(join(dir, 'keys', `${name}.asc`), (await generateKeyPair({ name, email: `${name}@customer.example` })).publicKey);
    }
    await writeFile(join(dir, 'keys', 'carol.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
    // A real trusted root (Sigstore's public-good instance): trust roots are validated strictly when loaded.
    await copyFile(join(ROOT, 'test', 'fixtures', 'sigstore-conformance', 'trusted_root.public-good.json'), join(dir, 'keys', 'trusted_root.json'));
    const trust = await loadTrust(join(dir, 'trust.yaml'));
    expect(trust.threshold).toBe(2);
    expect(trust.approvers.map((a) => [a.name, a.key.type])).toEqual([
      ['alice', 'openpgp'],
      ['bob', 'openpgp'],
      ['carol', 'sigstore-key'],
      ['dave', 'sigstore-identity'],
    ]);
    expect(await loadRunnerKeys(join(dir, 'trust.yaml'))).toHaveLength(1);
    expect((await loadAuditors(join(dir, 'trust.yaml'))).map((a) => [a.name, a.keys.length])).toEqual([['sec-team', 1]]);
  });
});

describe('docs/examples/runner-config.yaml', () => {
  it('loads with loadRunnerConfig, paths resolved beside it', async () => {
    const c = await loadRunnerConfig(join(EXAMPLES, 'runner-config.yaml'));
    expect(c.repository).toEqual({ url: 'git@github.com:customer/access.git', branch: 'main', name: 'github.com/customer/access' });
    expect(c.trust).toBe(join(EXAMPLES, 'trust.yaml'));
    expect(c.signingKey).toBe(join(EXAMPLES, 'keys', 'runner.sec.asc'));
    expect(Object.keys(c.resources)).toEqual(['prod-eu', 'orders-db']);
    expect(c.resources['prod-eu']!.tailscale?.tags).toEqual(['tag:breakglass']);
    expect(c.drill?.resource).toBe('prod-eu');
  });
});
