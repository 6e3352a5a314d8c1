/**
 * A package registry on loopback that offers exactly the versions in this
 * checkout's package-lock.json, with their lockfile integrity, and serves each
 * tarball from npm's own cache (filled by `npm ci`). Installing the packed
 * package against it resolves the dependency tree the tests ran with, needs no
 * network, and names no registry host anywhere.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';

interface LockEntry {
  version?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
  bin?: Record<string, string> | string;
  engines?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  link?: boolean;
}

export interface LoopbackRegistry {
  url: string;
  /** Tarballs asked for that npm's cache did not hold. */
  misses: string[];
  close(): Promise<void>;
}

/** cacache's content path for an sha512 integrity string. */
function cachePath(cache: string, integrity: string): string {
  const hex = Buffer.from(integrity.replace(/^sha512-/, ''), 'base64').toString('hex');
  return join(cache, '_cacache', 'content-v2', 'sha512', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

/** Packuments (name -> versions) built from a lockfile's `packages`. */
function packuments(lockfile: string): Map<string, Map<string, LockEntry>> {
  const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { packages: Record<string, LockEntry> };
  const byName = new Map<string, Map<string, LockEntry>>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path || entry.link || !entry.version || !entry.integrity?.startsWith('sha512-')) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!byName.has(name)) byName.set(name, new Map());
    byName.get(name)!.set(entry.version, entry);
  }
  return byName;
}

/** Starts the registry for `lockfile`, serving tarballs from the npm cache in `npmCache` (default ~/.npm). */
export async function startLoopbackRegistry(lockfile: string, npmCache = join(homedir(), '.npm')): Promise<LoopbackRegistry> {
  const names = packuments(lockfile);
  const misses: string[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
    const tarball = /^(.+)\/-\/(.+)-(\d[^/]*)\.tgz$/.exec(path);
    if (tarball) {
      const entry = names.get(tarball[1]!)?.get(tarball[3]!);
      try {
        const bytes = readFileSync(cachePath(npmCache, entry!.integrity!));
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
      } catch {
        misses.push(path);
        res.writeHead(404).end();
      }
      return;
    }
    const versions = names.get(path);
    if (!versions) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    const doc = {
      name: path,
      'dist-tags': { latest: [...versions.keys()].at(-1) },
      versions: Object.fromEntries(
        [...versions].map(([v, e]) => {
          const file = `${path.split('/').at(-1)}-${v}.tgz`;
          const { integrity, link: _link, ...fields } = e;
          return [v, { ...fields, name: path, version: v, dist: { integrity, tarball: `${base}/${path}/-/${file}` } }];
        }),
      ),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return { url: `${base}/`, misses, close: () => new Promise((r) => server.close(() => r())) };
}
