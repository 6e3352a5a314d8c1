/**
 * deploy/gateway: the kustomize Component that exposes the session gateway,
 * built with the real `kubectl kustomize` on top of the base exactly as the
 * operator guide shows. The base alone opens no gateway port; with the
 * Component the runner listens on 8443, reads its certificate from the
 * operator's Secret (read-only), a Service points at that port, and the
 * NetworkPolicy lets it in — and nothing else changes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../helpers/cli.js';

const run = promisify(execFile);

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: {
    template?: { spec: { containers: { ports: unknown[]; volumeMounts: unknown[] }[]; volumes: unknown[] } };
    selector?: Record<string, unknown>;
    ports?: unknown[];
    ingress?: { ports: { port: number }[] }[];
  };
}

/** Builds an overlay beside deploy/ (kustomize refuses paths outside its root) and returns its objects. */
async function build(overlay: string): Promise<Doc[]> {
  const dir = mkdtempSync(join(ROOT, '.deploy-overlay-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'kustomization.yaml'), overlay);
  const { stdout } = await run('kubectl', ['kustomize', dir]);
  return parseAllDocuments(stdout).map((d) => d.toJSON() as Doc);
}
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const find = (docs: Doc[], kind: string, name: string) => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!d) throw new Error(`no ${kind}/${name} in the build`);
  return d;
};

describe('deploy/gateway, the Component that exposes the session gateway', () => {
  it('the base alone opens no gateway port', async () => {
    const docs = await build('resources: [../deploy]\n');
    expect(JSON.stringify(docs)).not.toContain('8443');
    expect(docs.some((d) => d.metadata.name === 'breakglass-gateway')).toBe(false);
  });

  it('adds the port, the read-only TLS Secret, the Service and the ingress rule, and nothing else', async () => {
    const base = await build('resources: [../deploy]\n');
    const docs = await build('resources: [../deploy]\ncomponents: [../deploy/gateway]\n');
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([...base.map((d) => `${d.kind}/${d.metadata.name}`), 'Service/breakglass-gateway'].sort());

    const pod = find(docs, 'Deployment', 'breakglass-runner').spec.template?.spec;
    const runner = pod?.containers[0];
    expect(runner?.ports).toContainEqual({ name: 'gateway', containerPort: 8443, protocol: 'TCP' });
    expect(runner?.ports).toContainEqual(expect.objectContaining({ name: 'metrics', containerPort: 9090 }));
    expect(runner?.volumeMounts).toContainEqual({ name: 'gateway-tls', mountPath: '/etc/breakglass/gateway', readOnly: true });
    expect(pod?.volumes).toContainEqual({ name: 'gateway-tls', secret: { secretName: 'breakglass-gateway-tls', defaultMode: 0o400 } });

    const svc = find(docs, 'Service', 'breakglass-gateway');
    expect(svc.metadata.namespace).toBe('breakglass-system');
    expect(svc.spec.selector).toEqual(find(docs, 'Deployment', 'breakglass-runner').spec.selector?.matchLabels);
    expect(svc.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'gateway', protocol: 'TCP' }]);

    const ingress = (find(docs, 'NetworkPolicy', 'breakglass-runner').spec.ingress ?? []).flatMap((r) => r.ports.map((p) => p.port));
    expect(ingress.sort()).toEqual([8443, 9090]);
  });

  it('keeps the namespace an overlay sets, for every object it adds', async () => {
    const docs = await build('namespace: access-prod\nresources: [../deploy]\ncomponents: [../deploy/gateway]\n');
    expect(find(docs, 'Service', 'breakglass-gateway').metadata.namespace).toBe('access-prod');
    expect(docs.filter((d) => d.kind !== 'Namespace' && d.kind !== 'ClusterRole' && d.kind !== 'ClusterRoleBinding').every((d) => d.metadata.namespace === 'access-prod')).toBe(true);
  });
});
