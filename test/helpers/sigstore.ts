/**
 * Real sigstore bundles made locally, never touching the network: a key-based
 * bundle from an ECDSA P-256 key, and a keyless one from a tiny Fulcio-style CA
 * (openssl CLI) plus a local transparency log key that signs the entry's SET.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleToJSON, toMessageSignatureBundle } from '@sigstore/bundle';
import { json } from '@sigstore/core';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';

export function ecKey(): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A key-based message-signature bundle (v0.3, public key hint, no log entries). */
export function keyBundle(key: KeyObject, artifact: Uint8Array): string {
  const signature = sign('sha256', artifact, key);
  const digest = createHash('sha256').update(artifact).digest();
  return JSON.stringify(bundleToJSON(toMessageSignatureBundle({ digest, signature, keyHint: 'local-key' })));
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A local CA (self-signed, P-256) that issues Fulcio-style leaf certificates. */
export class LocalFulcio {
  readonly dir = mkdtempSync(join(tmpdir(), 'bg-fulcio-'));
  readonly caDer: Buffer;
  readonly rekor = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  constructor() {
    openssl(this.dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
    openssl(this.dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/O=local/CN=local-fulcio',
      '-days',
      '30',
      '-out',
      'ca.pem',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    this.caDer = Buffer.from(new X509Certificate(readFileSync(join(this.dir, 'ca.pem'))).raw);
  }

  /** Issues a leaf for `subject` (SAN e-mail) with the OIDC issuer extension; returns its key and DER. */
  issue(subject: string, issuer: string): { key: KeyObject; der: Buffer } {
    const n = Math.random().toString(36).slice(2);
    writeFileSync(
      join(this.dir, `${n}.ext`),
      [`subjectAltName=critical,email:${subject}`, 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=codeSigning', `${FULCIO_ISSUER_V1}=DER:${Buffer.from(issuer).toString('hex')}`].join('\n'),
    );
    openssl(this.dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${n}.key`]);
    openssl(this.dir, ['req', '-new', '-key', `${n}.key`, '-subj', '/O=sigstore.dev', '-out', `${n}.csr`]);
    openssl(this.dir, ['x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', `${n}.ext`, '-out', `${n}.pem`]);
    return { key: createPrivateKey(readFileSync(join(this.dir, `${n}.key`))), der: Buffer.from(new X509Certificate(readFileSync(join(this.dir, `${n}.pem`))).raw) };
  }

  private logId(): Buffer {
    return createHash('sha256')
      .update(this.rekor.publicKey.export({ type: 'spki', format: 'der' }))
      .digest();
  }

  /** The trusted root pinning this CA and this log. */
  trustedRoot(): unknown {
    const start = '2020-01-01T00:00:00Z';
    return {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: 'https://rekor.local',
          hashAlgorithm: 'SHA2_256',
          publicKey: { rawBytes: b64(this.rekor.publicKey.export({ type: 'spki', format: 'der' })), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
          logId: { keyId: b64(this.logId()) },
        },
      ],
      certificateAuthorities: [
        { subject: { organization: 'local', commonName: 'local-fulcio' }, uri: 'https://fulcio.local', certChain: { certificates: [{ rawBytes: b64(this.caDer) }] }, validFor: { start } },
      ],
      ctlogs: [],
      timestampAuthorities: [],
    };
  }

  /** A keyless v0.1 bundle over `artifact`, logged with a SET from this log (or `logKey`, to forge one). */
  keylessBundle(leaf: { key: KeyObject; der: Buffer }, artifact: Uint8Array, logKey: KeyObject = this.rekor.privateKey): string {
    const signature = sign('sha256', artifact, leaf.key);
    const digest = createHash('sha256').update(artifact).digest();
    const certPem = new X509Certificate(leaf.der).toString();
    const body = {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: { data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } }, signature: { content: b64(signature), publicKey: { content: b64(Buffer.from(certPem)) } } },
    };
    const canonicalizedBody = Buffer.from(json.canonicalize(body));
    // Just after issuance: the certificate must be valid at the logged time.
    const integratedTime = Math.floor(Date.now() / 1000) + 1;
    const payload = { body: canonicalizedBody.toString('base64'), integratedTime, logIndex: 1, logID: this.logId().toString('hex') };
    const set = sign('sha256', Buffer.from(json.canonicalize(payload)), logKey);
    return JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: b64(leaf.der) }] },
        tlogEntries: [
          {
            logIndex: '1',
            logId: { keyId: b64(this.logId()) },
            kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
            integratedTime: String(integratedTime),
            inclusionPromise: { signedEntryTimestamp: b64(set) },
            canonicalizedBody: b64(canonicalizedBody),
          },
        ],
      },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: b64(digest) }, signature: b64(signature) },
    });
  }
}
