/**
 * The published package, as a user gets it: `npm pack` on a copy of this
 * checkout (prepare and prepack run as they would for a release), installed
 * with `npm install -g` into a temporary prefix from a loopback registry that
 * offers the lockfile's versions, then every command of the approver and
 * vendor flow run from a directory outside any checkout. Also: the version
 * module matches package.json, and each entry point's Node check agrees with
 * `engines`.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type CliResult } from '../../src/dev/exec.js';
import { VERSION } from '../../src/version.js';
import { CLI_INVOCATION } from '../../src/core/invocation.js';
import { NODE, ROOT } from '../helpers/cli.js';
import { startLoopbackRegistry, type LoopbackRegistry } from '../helpers/loopback-registry.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; engines: { node: string }; files: string[] };
const REPOSITORY = 'github.com/customer/access';
const ID = 'inc-77-logs';

describe('the version and the Node requirement are stated once', () => {
  it('src/version.ts is what scripts/version.mjs makes from package.json', () => {
    expect(VERSION).toBe(pkg.version);
    expect(CLI_INVOCATION).toBe(`npx --yes ${pkg.name}@${pkg.version}`);
  });

  it('bin/breakglass.js and the Action bundle check for the major version engines names', () => {
    const needed = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node);
    expect(needed).not.toBeNull();
    const [, major, minor] = needed!;
    expect(readFileSync(join(ROOT, 'bin', 'breakglass.js'), 'utf8')).toContain(`var NEEDED = '${major}.${minor}';`);
    expect(readFileSync(join(ROOT, 'scripts', 'bundle.mjs'), 'utf8')).toContain(`__bgMaj < ${major} || (__bgMaj === ${major} && __bgMin < ${minor})`);
  });
});

describe('breakglass --help starts fast because it loads no command', () => {
  // Records every module URL resolved; printed at exit. Counting modules, not milliseconds (bench/startup.js has the time).
  const HOOK = `import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.add(r.url); return r; } });
process.on('exit', () => process.stderr.write('LOADED ' + [...seen].join(' ') + '\\n'));`;
  const loaded = async (args: string[]) => {
    const r = await run(NODE, ['--import', `data:text/javascript,${encodeURIComponent(HOOK)}`, join(ROOT, 'bin', 'breakglass.js'), ...args], { cwd: tmpdir() });
    return /LOADED (.*)/.exec(r.stderr)?.[1]?.split(' ') ?? [];
  };

  it('--help and --version load commander and nothing heavier', async () => {
    for (const args of [['--help'], ['--version']]) {
      const mods = await loaded(args);
      expect(mods.some((u) => u.includes('/node_modules/commander/'))).toBe(true);
      expect(mods.filter((u) => /\/node_modules\/(?!commander\/)/.test(u) || /\/lib\/cli\/commands\//.test(u))).toEqual([]);
    }
  });

  it('a command loads its own module only', async () => {
    const mods = await loaded(['init', '--help']);
    expect(mods.filter((u) => /\/lib\/cli\/commands\//.test(u)).map((u) => u.split('/').at(-1))).toEqual(['init.js']);
  });
});

/** A Node older than engines allows, if this machine has one (Debian's node 20 at /usr/bin/node, say). */
function oldNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/bin', '/usr/local/bin')) {
    try {
      const path = join(dir, 'node');
      const v = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
      if (Number(v.split('.')[0]) < 24) return path;
    } catch {
      // No node there.
    }
  }
  return undefined;
}

describe.runIf(oldNode())('under a Node older than engines allows', () => {
  const node = oldNode()!;
  for (const [what, entry, args] of [
    ['the CLI', join(ROOT, 'bin', 'breakglass.js'), ['demo', '--keep']],
    ['the Action bundle', join(ROOT, 'dist', 'index.js'), []],
  ] as const) {
    it(`${what} says in one line what it needs and what it found, exit 2, no stack trace`, async () => {
      const found = execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
      const r = await run(node, [entry, ...args], { cwd: tmpdir() });
      expect(r.code).toBe(2);
      const said = (r.stdout + r.stderr).trim();
      expect(said).toMatch(
        new RegExp(`^(::error::)?breakglass: NODE_UNSUPPORTED: needs Node\\.js 22\\.12 or newer \\(24 recommended\\); found Node\\.js ${found.replaceAll('.', '\\.')}( \\(.*\\))?$`),
      );
      expect(said.split('\n')).toHaveLength(1);
    });
  }
});

describe('the packed package, installed globally from a tarball', () => {
  let work: string;
  let registry: LoopbackRegistry;
  let prefix: string;
  let outside: string;
  let env: NodeJS.ProcessEnv;
  const bg = (args: string[], cwd = outside): Promise<CliResult> => run(join(prefix, 'bin', 'breakglass'), args, { cwd, env });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'bg-package-'));
    // A copy of the checkout's files (as a clean clone has them) with this node_modules, packed with its scripts.
    const copy = join(work, 'checkout');
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f && f !== 'node_modules');
    for (const f of files) {
      mkdirSync(dirname(join(copy, f)), { recursive: true });
      try {
        cpSync(join(ROOT, f), join(copy, f));
      } catch {
        // Listed but deleted in the working tree.
      }
    }
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const npm = { cwd: copy, env: { PATH: `${dirname(realpathSync(NODE))}:${process.env.PATH}` } };
    const packed = await run('npm', ['pack', '--pack-destination', work], npm);
    expect(packed.code, packed.stderr).toBe(0);
    const tgz = join(work, `${pkg.name}-${pkg.version}.tgz`);
    const listing = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).split('\n');
    writeFileSync(join(work, 'listing.txt'), listing.join('\n'));

    registry = await startLoopbackRegistry(join(ROOT, 'package-lock.json'));
    prefix = join(work, 'prefix');
    const install = await run('npm', ['install', '-g', '--prefix', prefix, '--registry', registry.url, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tgz], {
      cwd: work,
      env: npm.env,
    });
    expect(install.code, `${install.stderr}\nmissing from the npm cache: ${registry.misses.join(', ')}`).toBe(0);
    outside = join(work, 'elsewhere');
    mkdirSync(outside);
    // Node 24 first on PATH (the bin's `#!/usr/bin/env node`); no checkout anywhere near.
    env = {
      PATH: `${dirname(realpathSync(NODE))}:${process.env.PATH}`,
      HOME: work,
      GIT_AUTHOR_NAME: 'Alice',
      GIT_AUTHOR_EMAIL: 'alice@customer.example',
      GIT_COMMITTER_NAME: 'Alice',
      GIT_COMMITTER_EMAIL: 'alice@customer.example',
    };
  });
  afterAll(async () => {
    await registry?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the CLI, the schemas, the API-server build script and a shrinkwrap, and no tests or sources', () => {
    const listing = readFileSync(join(work, 'listing.txt'), 'utf8').split('\n').filter(Boolean);
    for (const f of [
      'package/bin/breakglass.js',
      'package/lib/cli/main.js',
      'package/lib/version.js',
      'package/schemas/request.json',
      'package/test/k8s/build-apiserver.sh',
      'package/npm-shrinkwrap.json',
    ])
      expect(listing).toContain(f);
    expect(listing.filter((f) => /^package\/(src|test\/(?!k8s\/build-apiserver\.sh$))|\.test\.|\.map$|fixture|hostile/.test(f))).toEqual([]);
    // lib/ is src/ compiled and nothing else: a module only tests or benchmarks use lives in test/ or bench/.
    const compiled = listing.filter((f) => f.startsWith('package/lib/')).map((f) => f.slice('package/lib/'.length).replace(/\.js$/, '.ts'));
    expect(compiled.length).toBeGreaterThan(100);
    expect(compiled.filter((f) => !existsSync(join(ROOT, 'src', f)))).toEqual([]);
  });

  it('runs --version, --help and demo --help from outside any checkout', async () => {
    const version = await bg(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const help = await bg(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['init', 'keygen', 'request', 'validate', 'approve', 'verify', 'demo']) expect(help.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    const demo = await bg(['demo', '--help']);
    expect(demo.code).toBe(0);
    expect(demo.stdout).toContain('--keep');
  });

  it('runs init, keygen, request new, validate, approve and verify: a signed approval that verifies', async () => {
    const repo = join(outside, 'access');
    const keys = join(outside, 'keys');
    expect((await bg(['init', repo])).code).toBe(0);
    // One approver is enough here; the starter policy asks for two.
    const policyFile = join(repo, 'policies', 'production.yaml');
    writeFileSync(policyFile, readFileSync(policyFile, 'utf8').replace('required: 2', 'required: 1'));
    const alice = await bg(['keygen', '--name', 'alice', '--email', 'alice@customer.example', '--out', keys]);
    expect(alice.code, alice.stderr).toBe(0);
    const vendor = await bg(['keygen', '--name', 'vendor', '--email', 'oncall@vendor.example', '--out', keys]);
    const recipient = /([0-9A-F]{40})/.exec(vendor.stdout)?.[1];
    expect(recipient).toBeDefined();
    writeFileSync(policyFile, readFileSync(policyFile, 'utf8').replace('0123456789ABCDEF0123456789ABCDEF01234567', recipient!));
    const request = await bg(
      [
        'request',
        'new',
        '--id',
        ID,
        '--resource',
        'prod-eu',
        '--privilege',
        'view',
        '--duration',
        '30m',
        '--network',
        'direct',
        '--reason',
        'INC-77: read the api logs after the rollout',
        '--requester',
        'oncall@vendor.example',
        '--recipient',
        recipient!,
      ],
      repo,
    );
    expect(request.code, request.stderr).toBe(0);
    const validate = await bg(['validate'], repo);
    expect(validate.code, validate.stdout + validate.stderr).toBe(0);
    execFileSync('git', ['add', '-A'], { cwd: repo, env });
    execFileSync('git', ['commit', '-qm', 'policy and request'], { cwd: repo, env });
    for (const args of [['--policy', 'production'], [ID]]) {
      const approve = await bg(['approve', ...args, '--key', join(keys, 'alice.sec.asc'), '--approver', 'alice', '--repository', REPOSITORY, '--commit', '--yes'], repo);
      expect(approve.code, approve.stdout + approve.stderr).toBe(0);
    }
    const trust = join(outside, 'trust.yaml');
    writeFileSync(trust, `apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, openpgp: ${join(keys, 'alice.asc')} }\n`);
    const verify = await bg(['verify', ID, '--trust', trust, '--repository', REPOSITORY], repo);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    // The installed package never reached back into this checkout.
    expect(readdirSync(prefix, { recursive: true }).some((f) => String(f).includes(ROOT))).toBe(false);
  });
});
