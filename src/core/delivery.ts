/**
 * What the runner seals and signs for a vendor, and what `receive` checks:
 * the credential payloads and the binding that ties one to its session.
 */

/**
 * What a delivery is for, signed with the credential: `receive` compares each
 * field with what it expects, so a genuine delivery for one session cannot be
 * passed off as another's (other session, repository, request or recipient).
 */
export interface DeliveryBinding {
  session: string;
  /** `sha256:<hex>` of the approved request's exact bytes. */
  request: string;
  /** The commit the runner verified the approvals at. */
  commit: string;
  repository: string;
  /** Fingerprint of the key the credential is sealed to. */
  recipient: string;
  /** Fingerprint of the runner key that signs it. */
  runner: string;
  /** When it was sealed (RFC 3339). */
  sealed: string;
}

/** Fields every sealed credential carries. */
export interface PayloadBase {
  apiVersion: 'breakglass.dev/v1';
  kind: 'Credential';
  session: string;
  expires: string;
  /** Absent only in deliveries made before deliveries were signed; `receive` refuses those. */
  delivery?: DeliveryBinding;
  /** The runner's public key (armored), so a vendor who pinned only its fingerprint can check the signature. */
  runnerKey?: string;
}

/** What the vendor decrypts for a Kubernetes resource: enough for a kubeconfig that works as is. */
export interface CredentialPayload extends PayloadBase {
  type: 'kubernetes-token';
  server: string;
  certificateAuthority?: string;
  token: string;
}

/** What the vendor decrypts for a command resource: the command's output, byte for byte (base64, as it may be binary). */
export interface CommandCredentialPayload extends PayloadBase {
  type: 'command';
  command: string;
  encoding: 'base64';
  data: string;
}

/** Any sealed credential. */
export type SealedPayload = CredentialPayload | CommandCredentialPayload;
