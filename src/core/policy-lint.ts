/**
 * Checks a policy on its own, beyond its schema: rules that relate its fields
 * to each other. A policy that fails here governs nothing (fail closed).
 */
import { parseKubePrivilege } from './privilege.js';
import { wholeMatch, type Violation } from './policy.js';
import type { Policy } from './schemas.js';

const PLACEHOLDER = /^\{([a-z][a-z0-9_-]*)\}$/;

function lintArgv(argv: readonly string[], inputs: Record<string, string>, path: (string | number)[], out: Violation[]): Set<string> {
  const used = new Set<string>();
  argv.forEach((arg, i) => {
    const m = PLACEHOLDER.exec(arg);
    if (m) {
      if (!(m[1]! in inputs))
        out.push({ code: 'POLICY_INVALID', message: `argument ${JSON.stringify(arg)} names input "${m[1]}", which the command does not declare`, path: [], policyPath: [...path, i] });
      used.add(m[1]!);
    } else if (/[{}]/.test(arg)) {
      // Inputs are substituted only as whole arguments; a partial template
      // (`--db={database}`) would make what was approved harder to read.
      out.push({
        code: 'POLICY_INVALID',
        message: `argument ${JSON.stringify(arg)} mixes text and a placeholder; a placeholder must be a whole argument, such as "{database}"`,
        path: [],
        policyPath: [...path, i],
      });
    }
  });
  const first = argv[0];
  if (first !== undefined && (PLACEHOLDER.test(first) || first.includes('..') || first.startsWith('/'))) {
    out.push({ code: 'POLICY_INVALID', message: `program ${JSON.stringify(first)} must be a fixed relative name, looked up in the runner's commands.path`, path: [], policyPath: [...path, 0] });
  }
  return used;
}

/** Returns every problem with a policy's internal consistency. */
export function lintPolicy(policy: Policy): Violation[] {
  const out: Violation[] = [];
  const v = (code: string, message: string, policyPath: (string | number)[]) => out.push({ code, message, path: [], policyPath });
  const { approvals, resources, reason } = policy.spec;

  if (approvals.required > approvals.approvers.length) {
    v('POLICY_APPROVALS', `approvals.required is ${approvals.required} but only ${approvals.approvers.length} approvers are listed; no request could ever be approved`, [
      'spec',
      'approvals',
      'required',
    ]);
  }
  const seen = new Set<string>();
  approvals.approvers.forEach((a, i) => {
    if (seen.has(a)) v('POLICY_APPROVALS', `approver "${a}" is listed twice; each approver counts once`, ['spec', 'approvals', 'approvers', i]);
    seen.add(a);
  });
  if (reason.pattern !== undefined && wholeMatch(reason.pattern) === undefined) {
    v('POLICY_INVALID', `reason.pattern ${JSON.stringify(reason.pattern)} is not a valid regular expression`, ['spec', 'reason', 'pattern']);
  }

  const names = new Set<string>();
  resources.forEach((r, ri) => {
    const at = ['spec', 'resources', ri];
    if (names.has(r.name)) v('POLICY_INVALID', `resource "${r.name}" is defined twice in this policy`, [...at, 'name']);
    names.add(r.name);
    if (r.type === 'kubernetes') {
      r.privileges.forEach((p, pi) => {
        if (!parseKubePrivilege(p))
          v('PRIVILEGE_INVALID', `privilege "${p}" is not a Kubernetes privilege; use cluster-admin, view, admin:<namespace>, edit:<namespace> or clusterrole:<name>`, [...at, 'privileges', pi]);
      });
    }
    if (r.type === 'command' && !r.commands?.length) v('POLICY_INVALID', `resource ${r.name} is of type command but defines no commands`, [...at, 'type']);
    if (r.type !== 'command' && r.commands) v('POLICY_INVALID', `resource ${r.name} is of type ${r.type}; only command resources define commands`, [...at, 'commands']);
    (r.commands ?? []).forEach((c, ci) => {
      const cat = [...at, 'commands', ci];
      for (const [key, pattern] of Object.entries(c.inputs)) {
        if (!/^[a-z][a-z0-9_-]*$/.test(key)) v('POLICY_INVALID', `input name ${JSON.stringify(key)} must be lower-case letters, digits, "-" or "_"`, [...cat, 'inputs', key]);
        if (!wholeMatch(pattern)) v('POLICY_INVALID', `input ${key} pattern ${JSON.stringify(pattern)} is not a valid regular expression`, [...cat, 'inputs', key]);
      }
      const used = lintArgv(c.run, c.inputs, [...cat, 'run'], out);
      if (c.revoke) for (const u of lintArgv(c.revoke, c.inputs, [...cat, 'revoke'], out)) used.add(u);
      for (const key of Object.keys(c.inputs)) {
        if (!used.has(key)) v('POLICY_INVALID', `input "${key}" of command ${c.name} is never used in run or revoke`, [...cat, 'inputs', key]);
      }
    });
  });
  return out;
}
