/**
 * Sealing recording chunks to the auditors' OpenPGP keys, and opening them.
 * Binary messages (no armor): the chain hashes the exact bytes, and armor
 * would only add a third to every chunk.
 */
import * as openpgp from 'openpgp';
import type { PrivateKey, PublicKey } from './openpgp.js';

// v4 keys only, as everywhere else: an auditor must be able to open a chunk with plain gpg.
const CONFIG: Partial<openpgp.Config> = { v6Keys: false };

/**
 * Encrypts `data` to every key at once (one message, one session key wrapped
 * for each). No compression: chunk sizes are visible in git, and compressing
 * vendor-chosen input next to anything else is a length oracle.
 */
export async function sealToKeys(keys: readonly PublicKey[], data: Uint8Array, date?: Date): Promise<Uint8Array> {
  if (keys.length === 0) throw new Error('no auditor key to seal the recording to');
  const message = await openpgp.createMessage({ binary: data, date });
  const out = await openpgp.encrypt({ message, encryptionKeys: [...keys], format: 'binary', date, config: { ...CONFIG, preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed } });
  return out as Uint8Array;
}

/** Key ids (16 hex, upper case) a sealed message is encrypted to, read without any key. */
export async function sealedTo(bytes: Uint8Array): Promise<string[]> {
  const message = await openpgp.readMessage({ binaryMessage: bytes });
  return message.getEncryptionKeyIDs().map((k) => k.toHex().toUpperCase());
}

/** True when one of the key's parts is among the message's recipients. */
export async function isSealedToKey(bytes: Uint8Array, key: PrivateKey): Promise<boolean> {
  const to = new Set(await sealedTo(bytes));
  return key.getKeyIDs().some((k) => to.has(k.toHex().toUpperCase()));
}

/** Decrypts a sealed chunk. Throws when the bytes are not an integrity-protected message the key opens. */
export async function openSealedBinary(key: PrivateKey, bytes: Uint8Array): Promise<Uint8Array> {
  const message = await openpgp.readMessage({ binaryMessage: bytes });
  const { data } = await openpgp.decrypt({ message, decryptionKeys: key, format: 'binary', config: CONFIG });
  return data as Uint8Array;
}
