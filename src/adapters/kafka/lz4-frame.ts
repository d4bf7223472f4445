import { Buffer } from "node:buffer";
/**
 * LZ4 frame decoding (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md), the format
 * of Kafka's LZ4 record batches: the Java client writes one frame of 64 KB independent blocks
 * without checksums; librdkafka and the Go clients may add block and content checksums and the
 * content size. Written here rather than taken from lz4js 0.2.0, whose decoder returns a short
 * result without complaint for a truncated frame and checks no bounds or checksums.
 */

const FRAME_MAGIC = 0x184d2204;
/** Skippable frames carry magic 0x184D2A50 to 0x184D2A5F; the decoder steps over them. */
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_MAX_BYTES: Readonly<Record<number, number>> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };
/** A sequence of 3 input bytes plus one length byte per 255 output bytes: no block expands past 255 times its size. */
const MAX_EXPANSION = 255;
const MIN_MATCH = 4;

/** The decoded content of every frame in `data`, in order. Throws an `Error` saying what is wrong when the input is not valid LZ4 frames. */
export function decodeLz4Frames(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  do {
    const magic = readU32(data, offset);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      offset += 8 + readU32(data, offset + 4);
      if (offset > data.length) throw new Error("truncated skippable frame");
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Error(`not an LZ4 frame at byte ${offset}: magic 0x${magic.toString(16)}, expected 0x184d2204`);
    const frame = decodeFrame(data, offset + 4);
    parts.push(frame.content);
    offset = frame.end;
  } while (offset < data.length);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function decodeFrame(data: Uint8Array, descriptorStart: number): { content: Uint8Array; end: number } {
  let offset = descriptorStart;
  const flags = byteAt(data, offset++);
  const blockSizeId = (byteAt(data, offset++) >> 4) & 7;
  if (flags >> 6 !== 1) throw new Error(`unsupported LZ4 frame version ${flags >> 6}`);
  if (flags & 1) throw new Error("LZ4 frames with a dictionary are not supported");
  const blockMaxBytes = BLOCK_MAX_BYTES[blockSizeId];
  if (blockMaxBytes === undefined) throw new Error(`invalid LZ4 block maximum size id ${blockSizeId}`);
  const hasBlockChecksum = (flags & 0x10) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  const hasContentChecksum = (flags & 0x04) !== 0;
  let contentSize: number | null = null;
  if (hasContentSize) {
    contentSize = readU32(data, offset) + readU32(data, offset + 4) * 2 ** 32;
    if (contentSize > data.length * MAX_EXPANSION) throw new Error(`LZ4 frame declares ${contentSize} bytes of content, more than its ${data.length} bytes can hold`);
    offset += 8;
  }
  const headerChecksum = byteAt(data, offset);
  // Kafka before 0.10 (message format v0) hashed the magic number too (KAFKA-3160); both are accepted.
  if (headerChecksum !== headerHash(data, descriptorStart, offset) && headerChecksum !== headerHash(data, descriptorStart - 4, offset)) {
    throw new Error("LZ4 frame descriptor checksum mismatch");
  }
  offset += 1;

  const output = growableOutput(contentSize ?? 0);
  for (;;) {
    const header = readU32(data, offset);
    offset += 4;
    if (header === 0) break;
    const stored = header >= 0x80000000;
    const size = stored ? header - 0x80000000 : header;
    const blockEnd = offset + size;
    if (blockEnd + (hasBlockChecksum ? 4 : 0) > data.length) throw new Error(`truncated LZ4 frame: a block of ${size} bytes at byte ${offset - 4} runs past the end (${data.length} bytes)`);
    if (size > blockMaxBytes) throw new Error(`LZ4 block of ${size} bytes is larger than the frame's maximum ${blockMaxBytes}`);
    if (hasBlockChecksum && readU32(data, blockEnd) !== xxh32(data, offset, blockEnd)) throw new Error(`LZ4 block checksum mismatch at byte ${offset - 4}`);
    const blockStart = output.length;
    if (stored) {
      output.reserve(size).set(data.subarray(offset, blockEnd), blockStart);
      output.advanceTo(blockStart + size);
    } else {
      const room = Math.min(blockMaxBytes, size * MAX_EXPANSION);
      output.advanceTo(decodeBlock(data, offset, blockEnd, output.reserve(room), blockStart, blockStart + room));
    }
    offset = blockEnd + (hasBlockChecksum ? 4 : 0);
  }
  const content = output.content();
  if (contentSize !== null && content.length !== contentSize) throw new Error(`LZ4 frame declares ${contentSize} bytes of content but decodes to ${content.length}`);
  if (hasContentChecksum) {
    if (readU32(data, offset) !== xxh32(content, 0, content.length)) throw new Error("LZ4 content checksum mismatch");
    offset += 4;
  }
  return { content, end: offset };
}

/**
 * Decodes the LZ4 block `src[start, end)` into `out` from `outStart`, writing below `outLimit`;
 * returns where its output ends. Every length and match distance is checked against the input and
 * the output, so a corrupt block fails rather than reading or writing out of bounds (a changed
 * literal byte cannot be noticed without the frame's optional checksums).
 */
function decodeBlock(src: Uint8Array, start: number, end: number, out: Uint8Array, outStart: number, outLimit: number): number {
  let s = start;
  let d = outStart;
  for (;;) {
    if (s >= end) throw new Error("corrupt LZ4 block: it ends inside a sequence");
    const token = src[s++]!;
    let literals = token >> 4;
    if (literals === 15) [literals, s] = readLength(src, s, end, literals);
    if (s + literals > end) throw new Error("corrupt LZ4 block: literals run past the end of the block");
    if (d + literals > outLimit) throw new Error("corrupt LZ4 block: it decodes to more than the block maximum size");
    out.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    if (s === end) return d; // the last sequence has literals only
    if (s + 2 > end) throw new Error("corrupt LZ4 block: it ends inside a match offset");
    const distance = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (distance === 0 || distance > d) throw new Error(`corrupt LZ4 block: match distance ${distance} reaches before the start of the output`);
    let length = token & 15;
    if (length === 15) [length, s] = readLength(src, s, end, length);
    length += MIN_MATCH;
    if (d + length > outLimit) throw new Error("corrupt LZ4 block: it decodes to more than the block maximum size");
    if (distance >= length) {
      out.copyWithin(d, d - distance, d - distance + length);
      d += length;
    } else {
      // Overlapping: the match repeats bytes it is producing, so byte by byte.
      for (let from = d - distance, stop = d + length; d < stop; ) out[d++] = out[from++]!;
    }
  }
}

/** Adds the 255-terminated extension bytes of a literal or match length; returns the length and the next input position. */
function readLength(src: Uint8Array, start: number, end: number, initial: number): [number, number] {
  let length = initial;
  let s = start;
  for (;;) {
    if (s >= end) throw new Error("corrupt LZ4 block: it ends inside a length");
    const extra = src[s++]!;
    length += extra;
    if (extra !== 255) return [length, s];
  }
}

/** One contiguous buffer that grows by doubling, so a block's matches can reach into earlier blocks. */
function growableOutput(initialCapacity: number) {
  let buffer = new Uint8Array(Math.max(initialCapacity, 1024));
  let length = 0;
  return {
    get length() {
      return length;
    },
    /** The buffer, with room for `bytes` more from `length` on. */
    reserve(bytes: number): Uint8Array {
      if (length + bytes > buffer.length) {
        const grown = new Uint8Array(Math.max(length + bytes, buffer.length * 2));
        grown.set(buffer.subarray(0, length));
        buffer = grown;
      }
      return buffer;
    },
    advanceTo(end: number) {
      length = end;
    },
    content: () => buffer.subarray(0, length),
  };
}

function headerHash(data: Uint8Array, start: number, end: number): number {
  return (xxh32(data, start, end) >>> 8) & 0xff;
}

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

/** xxHash32 with seed 0 of `data[start, end)`, the checksum of LZ4 frames. */
function xxh32(data: Uint8Array, start: number, end: number): number {
  const round = (acc: number, lane: number) => Math.imul(rotl((acc + Math.imul(lane, PRIME2)) | 0, 13), PRIME1);
  let i = start;
  let hash: number;
  if (end - start >= 16) {
    let v1 = (PRIME1 + PRIME2) | 0;
    let v2 = PRIME2 | 0;
    let v3 = 0;
    let v4 = -PRIME1 | 0;
    for (; i + 16 <= end; i += 16) {
      v1 = round(v1, readU32(data, i));
      v2 = round(v2, readU32(data, i + 4));
      v3 = round(v3, readU32(data, i + 8));
      v4 = round(v4, readU32(data, i + 12));
    }
    hash = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    hash = PRIME5 | 0;
  }
  hash = (hash + (end - start)) | 0;
  for (; i + 4 <= end; i += 4) hash = Math.imul(rotl((hash + Math.imul(readU32(data, i), PRIME3)) | 0, 17), PRIME4);
  for (; i < end; i++) hash = Math.imul(rotl((hash + Math.imul(data[i]!, PRIME5)) | 0, 11), PRIME1);
  hash = Math.imul(hash ^ (hash >>> 15), PRIME2);
  hash = Math.imul(hash ^ (hash >>> 13), PRIME3);
  return (hash ^ (hash >>> 16)) >>> 0;
}

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/** Little-endian unsigned 32-bit integer at `offset`; throws when the input ends first. */
function readU32(data: Uint8Array, offset: number): number {
  if (offset + 4 > data.length) throw new Error(`truncated LZ4 frame: it ends at byte ${data.length}, inside a 4-byte field at ${offset}`);
  return (data[offset]! | (data[offset + 1]! << 8) | (data[offset + 2]! << 16) | (data[offset + 3]! << 24)) >>> 0;
}

function byteAt(data: Uint8Array, offset: number): number {
  const value = data[offset];
  if (value === undefined) throw new Error(`truncated LZ4 frame: it ends at byte ${data.length}, inside the frame descriptor`);
  return value;
}
