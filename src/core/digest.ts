import { createHash } from 'node:crypto';

/** `sha256:<hex>` of exact bytes — what approvals bind. Never of parsed or re-serialized YAML. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
