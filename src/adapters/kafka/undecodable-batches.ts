import { Buffer } from "node:buffer";

/**
 * Record batches that cannot be decoded, turned into something the consumer can step over.
 *
 * kafkajs decodes a fetched record batch by handing its compressed records, and nothing else, to
 * the codec's `decompress`. A throw there fails the whole fetch: the consumer crashes, fetches
 * the same offset again and crashes again, and the partition is stopped for good. So every
 * decompressor is wrapped: when it throws, the wrapper reads the batch's header (the 61 bytes
 * that precede the records in the same fetch buffer: first offset, last offset delta, record
 * count) and returns that many placeholder records instead. Each carries one header whose key
 * is made anew in every process, so no producer can forge one, and whose value says which offsets
 * were lost and why. The consumer dead-letters that range (`undecodable_batch`) and goes on.
 */

/** An undecodable record batch: its offsets (inclusive) and why it could not be decoded. */
export interface UndecodableBatch {
  readonly firstOffset: string;
  readonly lastOffset: string;
  readonly reason: string;
}

const MARKER_KEY = `stories-dispatcher.undecodable-batch.${crypto.randomUUID()}`;
const MARKER_KEY_BYTES = Buffer.from(MARKER_KEY, "utf8");

// Record batch v2 (magic 2) header, from the start of the batch.
const HEADER_BYTES = 61;
const LENGTH_AT = 8;
const MAGIC_AT = 16;
const LAST_OFFSET_DELTA_AT = 23;
const RECORD_COUNT_AT = 57;
const LENGTH_COVERS_FROM = 12;

type Decompress = (compressed: Buffer) => Promise<Buffer>;

/**
 * `decompress`, except that a batch it cannot decode becomes placeholder records. If the header
 * cannot be found where record batch v2 puts it (an old message format, a copied buffer), the
 * original error is thrown: the consumer then crashes and restarts with backoff, visibly.
 */
export function placeholdersOnFailure(decompress: Decompress): Decompress {
  return async (compressed) => {
    try {
      return await decompress(compressed);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const placeholders = placeholderRecords(compressed, reason);
      if (placeholders === null) throw error;
      return placeholders;
    }
  };
}

/** A decompressor for a codec id Kafka does not define (5-7): every such batch is undecodable. */
export function unknownCodec(id: number): Decompress {
  return () => Promise.reject(new Error(`unknown compression codec ${id} in the batch attributes`));
}

/** The undecodable batch a consumed message stands for, or null for an ordinary message. */
export function undecodableBatchOf(message: { readonly headers?: Readonly<Record<string, unknown>> }): UndecodableBatch | null {
  const header = message.headers?.[MARKER_KEY];
  if (!(header instanceof Uint8Array)) return null;
  return JSON.parse(Buffer.from(header).toString("utf8")) as UndecodableBatch;
}

/** `count` records that kafkajs decodes as messages with the marker header, or null when the batch header is not where v2 puts it. */
function placeholderRecords(compressed: Buffer, reason: string): Buffer | null {
  const start = compressed.byteOffset - HEADER_BYTES;
  if (start < 0) return null;
  const batch = Buffer.from(compressed.buffer, start, HEADER_BYTES);
  const length = batch.readInt32BE(LENGTH_AT);
  const lastOffsetDelta = batch.readInt32BE(LAST_OFFSET_DELTA_AT);
  const count = batch.readInt32BE(RECORD_COUNT_AT);
  const endsWithRecords = start + LENGTH_COVERS_FROM + length === compressed.byteOffset + compressed.byteLength;
  if (batch.readInt8(MAGIC_AT) !== 2 || !endsWithRecords || count < 1 || count > lastOffsetDelta + 1) return null;
  const firstOffset = batch.readBigInt64BE(0);
  const lost: UndecodableBatch = {
    firstOffset: firstOffset.toString(),
    lastOffset: (firstOffset + BigInt(lastOffsetDelta)).toString(),
    reason,
  };
  const value = Buffer.from(JSON.stringify(lost), "utf8");
  const records: Buffer[] = [];
  for (let i = 0; i < count; i++) records.push(placeholderRecord(i === count - 1 ? lastOffsetDelta : i, value));
  return Buffer.concat(records);
}

/** One record (Kafka record v0 layout): no key, no value, the marker header. */
function placeholderRecord(offsetDelta: number, markerValue: Buffer): Buffer {
  const body = Buffer.concat([
    Buffer.from([0]), // attributes
    varint(0), // timestamp delta
    varint(offsetDelta),
    varint(-1), // key: null
    varint(-1), // value: null
    varint(1), // one header
    varint(MARKER_KEY_BYTES.length),
    MARKER_KEY_BYTES,
    varint(markerValue.length),
    markerValue,
  ]);
  return Buffer.concat([varint(body.length), body]);
}

/** Kafka's varint: zigzag, then 7 bits a byte, least significant first. */
function varint(value: number): Buffer {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  const bytes: number[] = [];
  while (zigzag > 0x7f) {
    bytes.push((zigzag & 0x7f) | 0x80);
    zigzag >>>= 7;
  }
  bytes.push(zigzag);
  return Buffer.from(bytes);
}
