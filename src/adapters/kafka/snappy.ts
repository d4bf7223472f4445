import { Buffer } from "node:buffer";
import { uncompress } from "snappyjs";

/**
 * Kafka's snappy batches come in two shapes: librdkafka writes one raw snappy block; the Java
 * client writes xerial's SnappyOutputStream framing: this 8-byte magic, two big-endian int32
 * versions, then raw blocks (32 KB of input each) each behind a big-endian int32 length.
 */
const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]; // 0x82 "SNAPPY" 0
const XERIAL_HEADER_BYTES = 16;
/** xerial-snappy 1.x writes compatible version 1; a larger one would be a format it cannot read either. */
const XERIAL_COMPATIBLE_VERSION = 1;
/** A 3-byte copy yields at most 64 bytes: no raw block decodes to more than 22 times its size. */
const MAX_EXPANSION = 22;

/** The decoded content of a raw snappy block or of a xerial-framed stream. Throws an `Error` saying what is wrong when it is neither. */
export function decodeSnappy(data: Uint8Array): Uint8Array {
  return hasXerialMagic(data) ? decodeXerialFrames(data) : decodeRawBlock(data);
}

function hasXerialMagic(data: Uint8Array): boolean {
  return data.length >= XERIAL_MAGIC.length && XERIAL_MAGIC.every((byte, i) => data[i] === byte);
}

function decodeXerialFrames(data: Uint8Array): Uint8Array {
  if (data.length < XERIAL_HEADER_BYTES) throw new Error(`truncated xerial snappy header: ${data.length} bytes`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const compatibleVersion = view.getInt32(12);
  if (compatibleVersion !== XERIAL_COMPATIBLE_VERSION) throw new Error(`unsupported xerial snappy framing: compatible version ${compatibleVersion}`);
  const blocks: Uint8Array[] = [];
  for (let offset = XERIAL_HEADER_BYTES; offset < data.length; ) {
    if (offset + 4 > data.length) throw new Error(`truncated xerial snappy stream: it ends inside a block length at byte ${offset}`);
    const length = view.getInt32(offset);
    const end = offset + 4 + length;
    if (length < 0 || end > data.length) throw new Error(`truncated xerial snappy stream: a block of ${length} bytes at byte ${offset} runs past the end (${data.length} bytes)`);
    blocks.push(decodeRawBlock(data.subarray(offset + 4, end)));
    offset = end;
  }
  return Buffer.concat(blocks);
}

function decodeRawBlock(block: Uint8Array): Uint8Array {
  return uncompress(block, block.length * MAX_EXPANSION);
}
