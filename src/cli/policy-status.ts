/**
 * Whether a policy is in force, as far as the command line can tell without
 * a trust file. `validate` and `show` judge a request against a policy's
 * rules; the runner also requires the policy's exact bytes to be approved, so
 * saying "OK" for a policy nobody signed would promise what the runner refuses.
 */
import { CLI_INVOCATION } from '../core/invocation.js';
import type { RepositoryModel } from '../core/repository.js';

/** The command that approves a policy's current bytes. */
export function approvePolicyCommand(name: string): string {
  return `${CLI_INVOCATION} approve --policy ${name} --key <your-key.asc> --commit`;
}

/** Policy approval files (signatures NOT checked) that bind the current bytes of policy `name`. */
export function approvalFilesFor(model: RepositoryModel, name: string): number {
  const file = model.policies.find((p) => p.value?.metadata.name === name);
  if (!file) return 0;
  return model.policyApprovals.filter((a) => a.policy === name && a.value?.digest === file.digest).length;
}

/** Why the runner will refuse everything a policy without approvals governs. */
export function unapprovedNote(name: string): string {
  return `policy ${name} has no approval of its current bytes: the runner refuses every session it governs until approvers sign it (${approvePolicyCommand(name)})`;
}

/** The approval view's policy line: no files is certain refusal; files are unverified without a trust file. */
export function policyApprovalView(model: RepositoryModel, name: string, verified?: boolean): { approved?: boolean; note: string } {
  if (verified !== undefined) {
    return verified
      ? { approved: true, note: `policy ${name} is approved (signatures verified with the trust file)` }
      : { approved: false, note: `policy ${name} is NOT approved by the trust file's keys: the runner refuses every session it governs (${approvePolicyCommand(name)})` };
  }
  const files = approvalFilesFor(model, name);
  if (!files) return { approved: false, note: unapprovedNote(name) };
  return { note: `policy ${name}: ${files} approval file${files === 1 ? '' : 's'} bind${files === 1 ? 's' : ''} its current bytes; signatures not checked here (give --trust, or run verify)` };
}
