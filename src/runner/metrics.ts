/**
 * The runner's Prometheus metrics (prom-client, in a registry of its own) and
 * what the reconcile loop tells them. Labels are bounded: phases, outcomes,
 * steps and stable codes — never a session id or anything a vendor chose.
 * The metric names are listed in docs/guides/operator.md ("Metrics").
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Activation takes seconds (TokenRequest) to minutes (a tailscale router becoming ready). */
const ACTIVATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Teardown to revocation: a real API server caches a good token for about 10 s. */
const REVOCATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 15, 20, 30, 60, 120];
const LOOP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class RunnerMetrics {
  readonly registry = new Registry();
  readonly sessions = new Gauge({ name: 'breakglass_sessions', help: 'Open sessions by marker phase, counted at the start of the last loop', labelNames: ['phase'], registers: [this.registry] });
  readonly activations = new Counter({
    name: 'breakglass_activations_total',
    help: 'Sessions activated (credential delivered or path opened), by resource type',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'breakglass_failures_total',
    help: 'Failures by step and stable code (activation rolled back, loop step retried)',
    labelNames: ['step', 'code'],
    registers: [this.registry],
  });
  readonly ended = new Counter({ name: 'breakglass_sessions_closed_total', help: 'Sessions closed, by outcome (ended, failed)', labelNames: ['outcome'], registers: [this.registry] });
  readonly activationSeconds = new Histogram({
    name: 'breakglass_activation_duration_seconds',
    help: 'From marker created to credential delivered',
    buckets: ACTIVATION_BUCKETS,
    registers: [this.registry],
  });
  readonly revocationSeconds = new Histogram({
    name: 'breakglass_teardown_revocation_seconds',
    help: 'From teardown start to revocation proven',
    buckets: REVOCATION_BUCKETS,
    registers: [this.registry],
  });
  readonly loopSeconds = new Histogram({ name: 'breakglass_loop_duration_seconds', help: 'Duration of one reconcile loop', buckets: LOOP_BUCKETS, registers: [this.registry] });
  readonly lastPoll = new Gauge({ name: 'breakglass_last_successful_poll_timestamp_seconds', help: 'Unix time of the last successful fetch of the repository', registers: [this.registry] });
  readonly pendingRecords = new Gauge({ name: 'breakglass_records_pending', help: 'Signed records waiting in the state directory to be pushed', registers: [this.registry] });
  readonly ready = new Gauge({ name: 'breakglass_ready', help: '1 when the runner passed its preflight and polled successfully recently', registers: [this.registry] });
  /** Unix ms of the last successful poll, for /readyz. */
  lastPollMs: number | undefined;

  constructor() {
    for (const phase of ['activating', 'active', 'ending']) this.sessions.set({ phase }, 0);
    for (const type of ['kubernetes', 'command', 'vendor-held']) this.activations.inc({ type }, 0);
    this.pendingRecords.set(0);
    this.ready.set(0);
  }

  polled(nowMs: number): void {
    this.lastPollMs = nowMs;
    this.lastPoll.set(nowMs / 1000);
  }

  /** Sets the phase gauge from this loop's open markers. */
  openPhases(phases: readonly string[]): void {
    for (const phase of ['activating', 'active', 'ending']) this.sessions.set({ phase }, phases.filter((p) => p === phase).length);
  }
}
