/**
 * The code a recorded failure carries. An error of ours (BreakglassError,
 * VerificationFailure) keeps its own stable code; anything else — an OpenPGP
 * library error, a Node error, a bare Error — gets the code of the step it
 * happened in, so no record or loop.json ever says a generic "ERROR" and an
 * operator can alert on the step (SEAL_FAILED, DELIVERY_FAILED, ...).
 * A foreign library's own `code` (ENOENT, ERR_*) is not a breakglass code and
 * is never passed through: it stays in the message.
 */
import { BreakglassError } from '../core/errors.js';
import { RUNNER_STEP_CODES, VerificationFailure, type RunnerStep } from '../core/reasons.js';

export function failureCode(cause: unknown, step: string): string {
  if (cause instanceof BreakglassError || cause instanceof VerificationFailure) return cause.code;
  return RUNNER_STEP_CODES[step as RunnerStep] ?? RUNNER_STEP_CODES.session;
}
