/**
 * `breakglass drill`: one complete rehearsal session, timed step by step,
 * against the configured cluster, in a sandbox that never touches the
 * production repository or trust (see sandbox.ts). The first failure stops
 * the rehearsal; cleanup always runs, ending the session if it is still open
 * and checking by label that nothing of it is left in the cluster.
 */
import { readFile } from 'node:fs/promises';
import { loadTrust } from '../adapters/trust.js';
import { BreakglassError } from '../core/errors.js';
import { SESSION_LABEL, ownedSelector } from '../core/plan.js';
import type { DrillConfig } from '../core/schemas.js';
import { readPrivateKey, type PrivateKey } from '../crypto/openpgp.js';
import { assembleRunner } from '../runner/assemble.js';
import { loadRunnerConfig, type ResolvedConfig } from '../runner/config.js';
import { reconcileOnce } from '../runner/loop.js';
import { markerName } from '../runner/marker.js';
import { createSandbox, removeSandbox } from './sandbox.js';
import { activateAndDeliver, auditSandbox, DrillFailure, pushApprovedRequest, pushEnd, receiveAndUse, teardownAndRevoke, verifyRecord, type DrillState } from './steps.js';
import type { DrillReport, StepResult } from './report.js';
import { messageOf } from '../crypto/error-parts.js';

export interface DrillOptions {
  configFile: string;
  env: NodeJS.ProcessEnv;
  now: () => number;
  /** The runner's log lines, as they happen. */
  log: (line: string) => void;
  keep: boolean;
}

type Drilled = ResolvedConfig & { drill: DrillConfig };

/** The steps after the sandbox, in order: [name, what it measures, the step]. */
const STEPS: [string, string, (s: DrillState) => Promise<string>][] = [
  ['approve', 'request + approval pushed (approval visible on main)', pushApprovedRequest],
  ['activate', 'approval seen -> credential delivered', activateAndDeliver],
  ['use', 'credential received and used', receiveAndUse],
  ['end', 'end.yaml pushed', pushEnd],
  ['revoke', 'end -> revocation proven', teardownAndRevoke],
  ['record', 'signed drill record verified', verifyRecord],
  ['audit', 'audit of the sandbox history', auditSandbox],
];

async function timed(name: string, title: string, fn: () => Promise<string>): Promise<StepResult> {
  const t0 = performance.now();
  const done = (ok: boolean, detail: string): StepResult => ({ step: name, title, ok, seconds: Math.round(performance.now() - t0) / 1000, detail });
  try {
    return done(true, await fn());
  } catch (e) {
    return done(false, messageOf(e));
  }
}

/** Reads the config and the keys; anything wrong here is a usage or operational error. */
async function prepare(o: DrillOptions): Promise<{ config: Drilled; drillKey: PrivateKey; runnerPublic: string }> {
  const config = await loadRunnerConfig(o.configFile);
  const drill = config.drill;
  if (!drill) throw new BreakglassError('CONFIG_INVALID', `${config.file} has no drill: section; add drill: { key: keys/drill.sec.asc, resource: <one of resources:> }`);
  if (!config.resources[drill.resource]) throw new BreakglassError('CONFIG_INVALID', `drill.resource ${drill.resource} is not one of resources: (${Object.keys(config.resources).join(', ')})`);
  if (!config.resources[drill.resource]!.server) throw new BreakglassError('CONFIG_INVALID', `drill.resource ${drill.resource} has no server:; a drill rehearses a Kubernetes session`);
  const read = async (file: string, pass: string | undefined, what: string) =>
    readPrivateKey(await readFile(file, 'utf8'), pass).catch((e: Error) => {
      throw new BreakglassError('CONFIG_INVALID', `${what} ${file} cannot be read: ${e.message}`, { cause: e });
    });
  const drillKey = await read(drill.key, o.env.BREAKGLASS_DRILL_PASSPHRASE, 'drill.key');
  const signing = await read(config.signingKey, o.env.BREAKGLASS_SIGNING_PASSPHRASE, 'signingKey');
  // A dedicated key: a production approver's key must never be handed to a drill.
  const fpr = drillKey.getFingerprint();
  for (const a of (await loadTrust(config.trust)).approvers) {
    if (a.key.type === 'openpgp' && a.key.key.getKeys().some((k) => k.getFingerprint() === fpr))
      throw new BreakglassError('CONFIG_INVALID', `drill.key is the key of production approver ${a.name}; a drill needs a dedicated key`);
  }
  return { config: { ...config, drill }, drillKey, runnerPublic: signing.toPublic().armor() };
}

/** Builds the sandbox and the in-process runner; refuses a namespace with open sessions. */
async function setUp(o: DrillOptions, p: Awaited<ReturnType<typeof prepare>>): Promise<DrillState> {
  const sb = await createSandbox(p.config, p.drillKey, p.runnerPublic, o.now());
  const log: string[] = [];
  const deps = await assembleRunner(sb.configFile, { env: { ...o.env, BREAKGLASS_RUNNER_ID: `drill-${process.pid}` }, now: o.now, log: (l) => (log.push(l), o.log(l)) });
  const state: DrillState = { sb, deps, target: deps.targets.get(sb.spec.resource)!, log };
  // The sandbox runner shares the namespace's markers: an open production session there could be torn down with its record sent to the sandbox.
  const listed = await state.target.markers.listOpen();
  const open = [...listed.markers.map((m) => m.state.session), ...listed.unreadable.map((u) => u.session)];
  if (open.length)
    throw Object.assign(new Error(`namespace ${state.target.namespace} has ${open.length} open session(s) (${open.join(', ')}); run the drill when none is open`), {
      state,
    });
  return state;
}

/** Ends the session if a failed step left it open, removes its marker, and lists what is left by label. */
async function cleanUp(s: DrillState, keep: boolean): Promise<string> {
  const t = s.target;
  const session = s.sb.spec.session;
  const marker = await t.markers.get(session);
  if (marker && ['activating', 'active', 'ending'].includes(marker.state.phase)) {
    if (!s.endPushed) await pushEnd(s);
    await reconcileOnce(s.deps);
  }
  // Markers are kept forever for "once"; a drill's id is unique and its repository is gone, so its marker goes too.
  await t.kube.call(`delete ConfigMap ${t.namespace}/${markerName(session)}`, () => t.kube.core.deleteNamespacedConfigMap({ namespace: t.namespace, name: markerName(session) }), true);
  await s.deps.claims?.releaseDrill?.(session);
  const left = [
    ...(await t.kube.listOwned(t.namespace, ownedSelector(t.namespace, session))).map((x) => `${x.kind} ${x.namespace ? `${x.namespace}/` : ''}${x.name}`),
    ...(await t.kube.listConfigMaps(t.namespace, `${SESSION_LABEL}=${session}`)).map((c) => `ConfigMap ${t.namespace}/${c.metadata?.name}`),
  ];
  if (!keep) await removeSandbox(s.sb);
  if (left.length) throw new DrillFailure(`left in the cluster: ${left.join(', ')}`);
  return `nothing labelled ${SESSION_LABEL}=${session} left in the cluster; sandbox ${keep ? `kept at ${s.sb.root}` : 'removed'}`;
}

/** Runs the drill; the exit code is 0 when every step passed, 1 when the rehearsal found a problem, 2 when it could not run. */
export async function runDrill(o: DrillOptions): Promise<{ report: DrillReport; code: 0 | 1 | 2 }> {
  const p = await prepare(o);
  const steps: StepResult[] = [];
  let state: DrillState | undefined;
  steps.push(
    await timed('sandbox', 'sandbox set up', async () => {
      const s = await setUp(o, p).catch((e: { state?: DrillState }) => ((state = e.state), Promise.reject(e)));
      state = s;
      return `temporary repository, drill trust, ephemeral vendor key ${s.sb.vendor.fingerprint.slice(-16)}`;
    }),
  );
  for (const [name, title, fn] of STEPS) {
    if (!steps.at(-1)!.ok || !state) break;
    const s = state;
    steps.push(await timed(name, title, () => fn(s)));
  }
  const operational = !steps[0]!.ok;
  if (state) {
    const s = state;
    steps.push(await timed('cleanup', 'session ended, nothing left in the cluster', () => cleanUp(s, o.keep)));
  }
  const report = buildReport(p.config, state, steps, o);
  return { report, code: report.ok ? 0 : operational ? 2 : 1 };
}

function buildReport(config: Drilled, s: DrillState | undefined, steps: StepResult[], o: DrillOptions): DrillReport {
  const failed = steps.find((x) => !x.ok);
  const r = config.resources[config.drill.resource]!;
  return {
    kind: 'DrillReport',
    ok: !failed,
    session: s?.sb.spec.session,
    resource: config.drill.resource,
    privilege: config.drill.privilege,
    cluster: r.server ?? '',
    namespace: r.namespace,
    steps,
    failedStep: failed?.step,
    record: s?.record,
    sandbox: o.keep ? s?.sb.root : undefined,
  };
}
