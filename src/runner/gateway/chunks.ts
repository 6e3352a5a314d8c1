/**
 * Sealed recording chunks kept in the cluster while a session runs: one
 * Secret per chunk in the runner's namespace, `bg-rec-<session>-<index>`,
 * holding ciphertext only (sealed to the auditors before it leaves the
 * process). The cluster, not a replica's disk, because any replica may serve
 * any session and any replica may tear it down; creation is create-only, so
 * two replicas appending at once cannot both take an index (409: re-read the
 * tip, re-seal after it). Annotations carry the public chain state (index,
 * head, last event number) that the next writer resumes from.
 *
 * Secrets rather than ConfigMaps: the runner may delete Secrets (provider
 * objects) but never ConfigMaps, which hold the "once" markers. The chunks do
 * NOT carry the session's ownership labels, so a provider's label sweep at
 * teardown never takes them before they are collected into the record.
 */
import type { RawKube, RawObject } from '../../adapters/kube-raw.js';
import { chunkSecretName, MANAGED_BY, RECORDING_LABEL } from '../../core/plan-objects.js';
import { codeOf } from '../../crypto/error-parts.js';

export { chunkSecretName, RECORDING_LABEL };
const A_INDEX = 'breakglass.dev/chunk-index';
const A_HEAD = 'breakglass.dev/chain-head';
const A_SEQ = 'breakglass.dev/last-seq';

/** Where the chain stands after the newest chunk in the cluster. */
export interface ChainTip {
  chunks: number;
  head?: string;
  seq: number;
}

/** One stored chunk. */
export interface StoredChunk {
  index: number;
  bytes: Uint8Array;
  head: string;
  name: string;
}

function parse(o: RawObject): StoredChunk | undefined {
  const a = o.metadata.annotations ?? {};
  const index = Number(a[A_INDEX]);
  const data = (o as { data?: Record<string, string> }).data?.chunk;
  if (!Number.isSafeInteger(index) || index < 1 || !data || !a[A_HEAD]) return undefined;
  return { index, bytes: new Uint8Array(Buffer.from(data, 'base64')), head: a[A_HEAD]!, name: o.metadata.name };
}

/** Recording chunks of the sessions recorded in one namespace. */
export class ChunkStore {
  private readonly raw: RawKube;
  private readonly namespace: string;
  constructor(raw: RawKube, namespace: string) {
    this.raw = raw;
    this.namespace = namespace;
  }

  private async listRaw(session: string): Promise<RawObject[]> {
    return this.raw.list('v1', 'Secret', this.namespace, `${MANAGED_BY}=breakglass,${RECORDING_LABEL}=${session}`);
  }

  /** Every chunk of `session`, in index order. */
  async list(session: string): Promise<StoredChunk[]> {
    return (await this.listRaw(session))
      .map(parse)
      .filter((c): c is StoredChunk => c !== undefined)
      .sort((a, b) => a.index - b.index);
  }

  /** The chain state after the newest chunk (none yet: zero chunks). */
  async tip(session: string): Promise<ChainTip> {
    let best: RawObject | undefined;
    for (const o of await this.listRaw(session)) if (Number(o.metadata.annotations?.[A_INDEX]) > Number(best?.metadata.annotations?.[A_INDEX] ?? 0)) best = o;
    const a = best?.metadata.annotations;
    return a ? { chunks: Number(a[A_INDEX]), head: a[A_HEAD], seq: Number(a[A_SEQ]) } : { chunks: 0, seq: 0 };
  }

  /** Stores chunk `index`; false when that index is taken (another replica appended first). */
  async put(session: string, index: number, bytes: Uint8Array, head: string, lastSeq: number): Promise<boolean> {
    const body: RawObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: chunkSecretName(session, index),
        namespace: this.namespace,
        labels: { [MANAGED_BY]: 'breakglass', [RECORDING_LABEL]: session },
        annotations: { [A_INDEX]: String(index), [A_HEAD]: head, [A_SEQ]: String(lastSeq) },
      },
      type: 'breakglass.dev/recording-chunk',
      data: { chunk: Buffer.from(bytes).toString('base64') },
    };
    try {
      await this.raw.create(body);
      return true;
    } catch (e) {
      if (codeOf(e) === 'KUBE_CONFLICT') return false;
      throw e;
    }
  }

  /** Deletes every chunk of `session` (after they are queued with the record). */
  async remove(session: string): Promise<number> {
    let n = 0;
    for (const o of await this.listRaw(session)) if (await this.raw.delete('v1', 'Secret', this.namespace, o.metadata.name)) n++;
    return n;
  }
}
