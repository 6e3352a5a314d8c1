/**
 * Network `twingate`: a connector that exists only for the session.
 *
 * create: a connector in the configured remote network through the Twingate
 * API, its tokens, a Secret holding them and a Deployment running the
 * connector; then wait for readiness. teardown: the Deployment and Secret,
 * then the connector itself (which invalidates its tokens).
 */
import { parseDuration } from '../../core/duration.js';
import type { TwingateConfig } from '../../core/schemas.js';
import { secretFromEnv, type Delay, type HttpOptions } from '../../adapters/http.js';
import type { RawKube } from '../../adapters/kube-raw.js';
import { TwingateClient } from '../../adapters/twingate.js';
import type { NetworkProvider, ObjectRef } from './types.js';
import { assembleOrRollBack, createWorkload, deleteWorkload, waitReady, workloadGone, workloadName } from './workload.js';

const PROVIDER = 'twingate';

export interface TwingateDeps {
  raw: RawKube;
  namespace: string;
  env: NodeJS.ProcessEnv;
  http?: HttpOptions;
  delay?: Delay;
}

export function twingateProvider(config: TwingateConfig, deps: TwingateDeps): NetworkProvider {
  const client = () => new TwingateClient({ url: config.url, apiKey: secretFromEnv(deps.env, config.apiKeyEnv, 'Twingate'), http: deps.http });
  const teardown = async (session: string, objects: readonly ObjectRef[]): Promise<ObjectRef[]> => {
    const deleted = await deleteWorkload(deps.raw, deps.namespace, session, PROVIDER);
    const api = client();
    // By reference, and by name: a crash between create and recording leaves no reference.
    const ids = new Set(objects.filter((o) => o.kind === 'TwingateConnector').map((o) => o.name));
    for (const c of await api.connectorsNamed(connectorName(session))) ids.add(c.id);
    for (const id of ids) {
      await api.deleteConnector(id);
      deleted.push({ kind: 'TwingateConnector', name: id, provider: PROVIDER });
    }
    return deleted;
  };
  return {
    name: PROVIDER,
    async create(plan) {
      const api = client();
      const created: ObjectRef[] = [];
      return assembleOrRollBack(
        created,
        async () => {
          const connector = await api.createConnector(config.remoteNetworkId, connectorName(plan.session));
          created.push({ kind: 'TwingateConnector', name: connector.id, provider: PROVIDER });
          const tokens = await api.generateTokens(connector.id);
          await createWorkload(deps.raw, plan, {
            provider: PROVIDER,
            namespace: deps.namespace,
            image: config.image,
            secretEnv: { TWINGATE_ACCESS_TOKEN: tokens.accessToken, TWINGATE_REFRESH_TOKEN: tokens.refreshToken },
            env: { TWINGATE_NETWORK: config.network, TWINGATE_LABEL_DEPLOYED_BY: 'breakglass', TWINGATE_LABEL_SESSION: plan.session },
          }, created);
          await waitReady(deps.raw, deps.namespace, workloadName(plan.session, PROVIDER), parseDuration(config.readinessTimeout)! * 1000, deps.delay);
        },
        (made) => teardown(plan.session, made),
      );
    },
    teardown: (session, objects) => teardown(session, objects),
    async verifyGone(session) {
      return (await workloadGone(deps.raw, deps.namespace, session, PROVIDER)) && (await client().connectorsNamed(connectorName(session))).length === 0;
    },
  };
}

/** The connector's name in Twingate: how teardown and verification find it without a reference. */
export function connectorName(session: string): string {
  return `bg-${session}`.slice(0, 63);
}
