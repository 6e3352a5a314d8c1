/**
 * Provider interfaces. A network provider opens (and closes) the path to a
 * resource; each is one file implementing `create/teardown/verifyGone`, so
 * adding tailscale or twingate touches nothing else. Every object a provider
 * creates is returned as a reference for the marker and the record, and
 * carries the ownership labels so the reaper finds it after a crash.
 */
import type { SessionPlan } from '../../core/plan.js';

/** A reference to something a provider created: never a secret. */
export interface ObjectRef {
  kind: string;
  apiVersion?: string;
  namespace?: string;
  name: string;
  provider?: string;
}

/** Why an open path carries no traffic now: a stable code and what was seen. */
export interface PathProblem {
  code: string;
  message: string;
}

/** One line of a provider's preflight checklist. */
export interface PreflightCheck {
  /** What is needed, in the operator's words: "OAuth scope devices:routes". */
  need: string;
  ok: boolean;
  /** What was seen, when it is not ok; never a secret. */
  detail?: string;
}

/**
 * Opens a network path for one session and closes it again. A provider is
 * built for one resource (see index.ts) and holds its cluster and settings.
 */
export interface NetworkProvider {
  readonly name: string;
  create(plan: SessionPlan): Promise<ObjectRef[]>;
  /** Deletes what `create` made, from the references alone (after a restart too); already-gone is success. Returns what it deleted. */
  teardown(session: string, objects: readonly ObjectRef[]): Promise<ObjectRef[]>;
  /** True when nothing the provider made for the session remains. */
  verifyGone(session: string): Promise<boolean>;
  /** Whether the session's open path still carries traffic: undefined when it does. */
  health?(session: string, objects: readonly ObjectRef[]): Promise<PathProblem | undefined>;
  /** Checks, without creating anything, that the credentials work and hold every permission a session needs. */
  preflight?(): Promise<PreflightCheck[]>;
}
