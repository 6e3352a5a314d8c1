/**
 * The code a recorded failure carries. An error of ours (BreakglassError,
 * VerificationFailure) keeps its own stable code; anything else — an OpenPGP
 * library error, a Node error, a bare Error — gets the code of the step it
 * happened in, so no record or loop.json ever says a generic "ERROR" and an
 * operator can alert on the step (SEAL_FAILED, DELIVERY_FAILED, ...).
 * A foreign library's own `code` (ENOENT, ERR_*) is not a breakglass code and
 * is never passed through: it stays in the message.
 */
import type { ErrorCode } from '../crypto/error-codes.js';
import { BreakglassError } from '../core/errors.js';
import { RUNNER_STEP_CODES, isVerificationFailure, type ReasonCode, type RunnerStep } from '../core/reasons.js';

const isStep = (step: string): step is RunnerStep => Object.hasOwn(RUNNER_STEP_CODES, step);

export function failureCode(cause: unknown, step: string): ErrorCode | ReasonCode {
  if (cause instanceof BreakglassError || isVerificationFailure(cause)) return cause.code;
  return isStep(step) ? RUNNER_STEP_CODES[step] : RUNNER_STEP_CODES.session;
}
