/**
 * The runner's side of session recording (issue 12) outside the gateway
 * itself: whether a session can be recorded before anything is created, and
 * at teardown, gathering the sealed chunks from the cluster into the record.
 */
import { chainHead, chainStart, chunkFileName, formatHead, recordingDir, type RecordingSummary } from '../core/recording.js';
import { BreakglassError } from '../core/errors.js';
import type { Governing } from '../core/policy.js';
import type { PublicKey } from '../crypto/openpgp.js';
import type { RunnerDeps, Target } from './context.js';
import { ChunkStore } from './gateway/chunks.js';
import type { MarkerState } from './marker.js';
import type { SessionProblem } from './repo.js';

/**
 * Why a Kubernetes session cannot be recorded as its policy and this runner's
 * config ask, or undefined. Checked before anything is created: a refused
 * session stays pending with the code, nothing is minted or delivered.
 *  - the resource has a gateway: it is always recorded, so it needs a
 *    listener in this runner, auditors to seal to, none of them the key the
 *    credential is sealed to, and the listener up (down is thrown: retried
 *    every loop, as it may come up);
 *  - `recording: required` without a gateway for the resource is refused
 *    rather than delivered unrecorded.
 */
export function recordingRefusal(d: RunnerDeps, t: Target, governing: Governing, recipient: string): SessionProblem | undefined {
  if (governing.resource.type !== 'kubernetes') return undefined;
  const required = governing.resource.recording === 'required';
  if (!t.gateway) {
    return required
      ? { code: 'RECORDING_NO_GATEWAY', message: `the policy requires recording for ${t.resource}, but this runner's config gives it no gateway (resources.${t.resource}.gateway.url)` }
      : undefined;
  }
  if (!d.config.gateway)
    return { code: 'RECORDING_NO_GATEWAY', message: `resources.${t.resource}.gateway is set, but this runner's config has no gateway listener (gateway: { listen, certificate, key })` };
  if (d.auditors.length === 0) return { code: 'RECORDING_NO_AUDITORS', message: `the trust file names no auditors: a recording of ${t.resource} could be sealed to no one` };
  const shared = auditorRecipient(d.auditors, recipient);
  if (shared)
    return {
      code: 'RECORDING_AUDITOR_IS_RECIPIENT',
      message: `the request's recipient key ${shared} is also an auditor key in the trust file: the vendor could read the recording of their own session`,
    };
  // Thrown, not returned: a listener that is down may come up, so the session is retried next loop (nothing is created meanwhile).
  // A dry run serves no listener and creates nothing: it plans the recorded session as the loop would once the listener is up.
  if (!d.gateway?.listening && !d.dryRun)
    throw new BreakglassError('RECORDING_GATEWAY_DOWN', `this runner's gateway is not serving (${d.gateway?.problem ?? 'not started in this process: --once and --dry-run serve no gateway'})`);
  return undefined;
}

/**
 * The recipient's fingerprint when it is one of the auditors' keys, primary
 * or subkey. A recording is the customer's account of what the vendor did; it
 * is sealed to every auditor key, so if the vendor holds one of them the
 * account is no longer kept from the party it is about.
 */
function auditorRecipient(auditors: readonly PublicKey[], recipient: string): string | undefined {
  const fpr = recipient.toUpperCase();
  return auditors.some((a) => a.getKeys().some((k) => k.getFingerprint().toUpperCase() === fpr)) ? fpr : undefined;
}

/** A recording gathered for the record: its summary and the chunk files to commit beside it. */
export interface GatheredRecording {
  summary: RecordingSummary;
  files: Map<string, Uint8Array>;
}

/**
 * Collects a recorded session's chunks from the cluster, in index order.
 * They must run 1..n without a gap: a missing index means a chunk was lost
 * or removed, and the teardown fails (retried next loop) rather than sign a
 * head over a recording with a hole in it. The head is computed here over
 * the ciphertexts, never taken from the annotations.
 */
export async function gatherRecording(t: Target, s: MarkerState): Promise<GatheredRecording | undefined> {
  if (!s.gateway) return undefined;
  const chunks = await new ChunkStore(t.raw, t.namespace).list(s.session);
  chunks.forEach((c, i) => {
    if (c.index !== i + 1) throw new Error(`recording of session ${s.session}: chunk ${i + 1} is missing (found ${c.index})`);
  });
  const files = new Map<string, Uint8Array>(chunks.map((c) => [`${recordingDir(s.session)}/${chunkFileName(c.index)}`, c.bytes]));
  const head = chunks.length
    ? formatHead(
        chainHead(
          s.session,
          chunks.map((c) => c.bytes),
        ),
      )
    : formatHead(chainStart(s.session));
  return { summary: { chunks: chunks.length, head }, files };
}

/** Removes a session's chunks from the cluster once they are queued with the signed record. */
export async function dropRecording(t: Target, s: MarkerState): Promise<void> {
  if (s.gateway) await new ChunkStore(t.raw, t.namespace).remove(s.session);
}
