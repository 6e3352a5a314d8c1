/**
 * Network `twingate`: a connector that exists only for the session.
 *
 * create: a connector in the configured remote network through the Twingate
 * API, its tokens, a Secret holding them and a Deployment running the
 * connector as Twingate's own manifests do (TWINGATE_URL, uid 65532, drop
 * ALL, read-only root with /var/run/twingate as scratch, `/connectorctl
 * health` as the readiness probe); then, under one deadline, readiness that
 * means the path works: the probe passes and the API reports the connector
 * ALIVE (a new connector is DEAD_NO_HEARTBEAT until its first heartbeat).
 * teardown: the Deployment and Secret, then the connector itself (which
 * invalidates its tokens).
 */
import { durationSeconds } from '../../core/duration.js';
import { BreakglassError } from '../../core/errors.js';
import type { SessionPlan } from '../../core/plan.js';
import { connectorName } from '../../core/plan-objects.js';
import type { TwingateConfig } from '../../core/schemas.js';
import { realDelay, secretFromEnv, type Delay, type HttpOptions } from '../../adapters/http.js';
import type { RawKube } from '../../adapters/kube-raw.js';
import { TwingateClient, type ConnectorTokens } from '../../adapters/twingate.js';
import { failureCode } from '../failure-code.js';
import type { NetworkProvider, ObjectRef, PathProblem, PreflightCheck } from './types.js';
import { assembleOrRollBack, createWorkload, deleteWorkload, waitFor, waitReady, workloadGone, workloadHealth, workloadName, type WorkloadSpec } from './workload.js';
import { messageOf } from '../../crypto/error-parts.js';

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
  const delay = deps.delay ?? realDelay;
  return {
    name: PROVIDER,
    async create(plan) {
      const api = client();
      const created: ObjectRef[] = [];
      const deadline = Date.now() + durationSeconds(config.readinessTimeout) * 1000;
      return assembleOrRollBack(
        created,
        async () => {
          const connector = await api.createConnector(config.remoteNetworkId, connectorName(plan.session));
          created.push({ kind: 'TwingateConnector', name: connector.id, provider: PROVIDER });
          const tokens = await api.generateTokens(connector.id);
          await createWorkload(deps.raw, plan, connectorSpec(plan, config, deps.namespace, tokens), created);
          await waitReady(deps.raw, deps.namespace, workloadName(plan.session, PROVIDER), deadline, delay);
          await waitAlive(api, connector.id, deadline, delay);
        },
        (made) => teardown(plan.session, made),
      );
    },
    teardown: (session, objects) => teardown(session, objects),
    async verifyGone(session) {
      return (await workloadGone(deps.raw, deps.namespace, session, PROVIDER)) && (await client().connectorsNamed(connectorName(session))).length === 0;
    },
    async health(session, objects) {
      return (await workloadHealth(deps.raw, deps.namespace, session, PROVIDER)) ?? (await connectorHealth(client(), session, objects));
    },
    preflight: () => preflight(config, deps.env, client),
  };
}

/** The connector container, as Twingate's helm chart runs it. */
function connectorSpec(plan: SessionPlan, config: TwingateConfig, namespace: string, tokens: ConnectorTokens): WorkloadSpec {
  return {
    provider: PROVIDER,
    namespace,
    image: config.image,
    secretEnv: { TWINGATE_ACCESS_TOKEN: tokens.accessToken, TWINGATE_REFRESH_TOKEN: tokens.refreshToken },
    // The network's own URL (https://<network>.twingate.com), as the chart sets it.
    env: { TWINGATE_URL: `https://${config.network}.twingate.com`, TWINGATE_LABEL_DEPLOYED_BY: 'breakglass', TWINGATE_LABEL_SESSION: plan.session },
    readinessProbe: { exec: { command: ['/connectorctl', 'health'] }, periodSeconds: 5 },
    runAsUser: 65532,
    scratch: { run: '/var/run/twingate' },
  };
}

/** Waits until the API reports the connector ALIVE; TWINGATE_CONNECTOR_NOT_ALIVE with the last state at the deadline. */
function waitAlive(api: TwingateClient, id: string, deadline: number, delay: Delay): Promise<void> {
  return waitFor(
    deadline,
    delay,
    async () => {
      const state = await api.connectorState(id);
      if (state === undefined) throw new BreakglassError('TWINGATE_CONNECTOR_NOT_ALIVE', `connector ${id} disappeared while waiting for it`);
      return state === 'ALIVE' ? { done: undefined } : { seen: state };
    },
    (seen) => new BreakglassError('TWINGATE_CONNECTOR_NOT_ALIVE', `connector ${id} was ${seen}, not ALIVE, at the readiness deadline`),
  );
}

async function connectorHealth(api: TwingateClient, session: string, objects: readonly ObjectRef[]): Promise<PathProblem | undefined> {
  const ids = objects.filter((o) => o.kind === 'TwingateConnector').map((o) => o.name);
  if (!ids.length) ids.push(...(await api.connectorsNamed(connectorName(session))).map((c) => c.id));
  for (const id of ids) {
    const state = await api.connectorState(id);
    if (state !== 'ALIVE') return { code: 'TWINGATE_CONNECTOR_DEAD', message: `connector ${id} is ${state ?? 'gone'}` };
  }
  return ids.length ? undefined : { code: 'TWINGATE_CONNECTOR_DEAD', message: `no connector named ${connectorName(session)}` };
}

/**
 * The key is set and accepted, and it can read the remote network. Write and
 * Provision (connectorCreate, connectorGenerateTokens: "Read, Write &
 * Provision") cannot be checked without creating a connector; a key without
 * them fails at activation with PROVIDER_AUTH, and everything is rolled back.
 */
async function preflight(config: TwingateConfig, env: NodeJS.ProcessEnv, client: () => TwingateClient): Promise<PreflightCheck[]> {
  const need = `API key ${config.apiKeyEnv} (Read, Write & Provision) reads remote network ${config.remoteNetworkId}`;
  try {
    if (!env[config.apiKeyEnv]) return [{ need, ok: false, detail: `${config.apiKeyEnv} is not set` }];
    return [(await client().remoteNetworkExists(config.remoteNetworkId)) ? { need, ok: true } : { need, ok: false, detail: 'remote network not found' }];
  } catch (e) {
    return [{ need, ok: false, detail: `${failureCode(e, 'network')}: ${messageOf(e)}` }];
  }
}

export { connectorName };
