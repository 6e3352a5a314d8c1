/**
 * `validate`: schema and policy, for every file in the repository. Approvals
 * and their signatures are `verify`'s concern, not this module's.
 */
import { lintPolicy } from './policy-lint.js';
import { nameMatchesPath } from './policy-versions.js';
import { evaluatePolicy, type Evaluation, type Violation } from './policy.js';
import { sortFindings } from './document.js';
import type { Finding } from './errors.js';
import type { Policy } from './schemas.js';
import type { ParsedFile, RepositoryModel, SessionFiles } from './repository.js';

export type SessionStatus = 'invalid' | 'pending' | 'rejected' | 'ended' | 'recorded';

export interface SessionSummary {
  id: string;
  status: SessionStatus;
  requestDigest?: string;
  resource?: string;
  privilege?: string;
  approvals: number;
  evaluation?: Evaluation;
}

export interface ValidationResult {
  findings: Finding[];
  sessions: SessionSummary[];
  /** Policies that parsed and passed their own lint: the only ones that govern. */
  usablePolicies: Policy[];
}

function violationFindings(file: ParsedFile<'Request'> | ParsedFile<'Policy'>, violations: Violation[], pathOf: (v: Violation) => readonly (string | number)[]): Finding[] {
  return violations.map((v) => ({ ...file.locate!(pathOf(v)), code: v.code, message: v.message, severity: 'error' as const }));
}

/** A session that was closed (rejected, ended or recorded) is history: it can no longer go stale. */
export function sessionStatus(s: SessionFiles): SessionStatus {
  if (!s.request?.value) return 'invalid';
  if (s.record) return 'recorded';
  if (s.end) return 'ended';
  if (s.rejection) return 'rejected';
  return 'pending';
}

/** Lints each parsed policy; returns the findings and the policies fit to govern. */
export function checkPolicies(model: RepositoryModel): { findings: Finding[]; usable: Policy[]; broken: Set<string> } {
  const findings: Finding[] = [];
  const usable: Policy[] = [];
  const broken = new Set<string>();
  for (const file of model.policies) {
    if (!file.value) {
      const stem = /([^/]+)\.yaml$/.exec(file.path)?.[1];
      if (stem) broken.add(stem);
      continue;
    }
    const lint = lintPolicy(file.value);
    findings.push(...violationFindings(file, lint, (v) => v.policyPath ?? []));
    // A file named otherwise than its metadata.name governs nothing (POLICY_MISMATCH is reported by the loader).
    if (lint.length || !nameMatchesPath(file)) broken.add(file.value.metadata.name);
    else usable.push(file.value);
  }
  return { findings, usable, broken };
}

/** Evaluates one session's request against the usable policies. */
export function evaluateSession(s: SessionFiles, usable: readonly Policy[], broken: ReadonlySet<string>, now: number): { summary: SessionSummary; findings: Finding[] } {
  const status = sessionStatus(s);
  const summary: SessionSummary = { id: s.id, status, approvals: s.approvals.length };
  const req = s.request;
  if (!req?.value) return { summary, findings: [] };
  const findings: Finding[] = [];
  const evaluation = evaluatePolicy(req.value, usable, { now, checkStale: status === 'pending' });
  if (!evaluation.governing && broken.size) {
    // The resource may be defined by a policy that failed its own checks: say so, not "unknown resource".
    evaluation.violations.splice(0, evaluation.violations.length, {
      code: 'POLICY_INVALID',
      message: `policies with errors (${[...broken].join(', ')}) govern nothing until fixed; the resource may be defined there`,
      path: ['spec', 'resource'],
    });
  }
  findings.push(...violationFindings(req, evaluation.violations, (v) => v.path));
  if (s.rejection?.value && s.rejection.value.request !== req.digest) {
    findings.push({
      ...s.rejection.locate!(['request']),
      code: 'DIGEST_MISMATCH',
      message: `rejection names request ${s.rejection.value.request}, but request.yaml is ${req.digest}`,
      severity: 'warning',
    });
  }
  Object.assign(summary, { requestDigest: req.digest, resource: req.value.spec.resource, privilege: req.value.spec.privilege, evaluation });
  return { summary, findings };
}

/** Validates the whole repository model at time `now`. */
export function validateRepository(model: RepositoryModel, now: number): ValidationResult {
  const pol = checkPolicies(model);
  const findings = [...model.findings, ...pol.findings];
  const sessions: SessionSummary[] = [];
  for (const s of [...model.sessions.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const r = evaluateSession(s, pol.usable, pol.broken, now);
    findings.push(...r.findings);
    sessions.push(r.summary);
  }
  return { findings: sortFindings(findings), sessions, usablePolicies: pol.usable };
}
