/**
 * Vitest global setup: one real Kubernetes API server for the whole run,
 * provided to tests as `inject('cluster')`. Uses the cluster named by
 * BREAKGLASS_TEST_KUBECONFIG when set (kind, k3d, staging), otherwise starts
 * etcd + kube-apiserver on loopback (building the API server once, cached).
 */
import type { TestProject } from 'vitest/node';
import { externalCluster, startLocalCluster, type ClusterInfo } from '../../src/dev/local-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.BREAKGLASS_TEST_KUBECONFIG;
  if (external) {
    project.provide('cluster', await externalCluster(external));
    return async () => {};
  }
  const cluster = await startLocalCluster({ log: (s) => process.stderr.write(`[cluster] ${s}\n`) });
  project.provide('cluster', { kubeconfig: cluster.kubeconfig, server: cluster.server, caFile: cluster.caFile, local: true });
  return () => cluster.stop();
}
