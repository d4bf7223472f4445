import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import kafkajs from "kafkajs";
import { compress as compressLz4Frame } from "lz4js";
import { compress as compressSnappyBlock } from "snappyjs";
import { afterAll, describe, expect, it } from "vitest";
import { DecompressionError, defaultDecompressors, registerKafkaCodecs, type KafkaCodecName } from "../../src/adapters/kafka/codecs.ts";

/**
 * The fixtures are the same text compressed by the Java libraries Kafka producers use
 * (test/support/java/CodecFixtures.java wrote them); the properties compress with the pure
 * JavaScript encoders in node_modules (snappyjs, lz4js).
 */
interface Fixture {
  readonly lines: number;
  readonly producedBy: string;
  readonly base64: string;
}
const fixtures = JSON.parse(readFileSync(new URL("./kafka-codecs.fixtures.json", import.meta.url), "utf8")) as Record<string, Fixture>;

function fixtureBytes(name: string): Buffer {
  const fixture = fixtures[name];
  if (!fixture) throw new Error(`no fixture ${name}`);
  return Buffer.from(fixture.base64, "base64");
}

/** The text CodecFixtures.java compressed: `lines` JSON lines, about 79 bytes each. */
function fixtureText(lines: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz";
  let text = "";
  for (let i = 0; i < lines; i++) {
    const jobId = String((i * 7919) % 100000).padStart(5, "0");
    text += `{"job_id":"job-${jobId}","event":"job.succeeded","seq":${i},"pad":"${alphabet.slice(0, i % 27)}"}\n`;
  }
  return text;
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const LZ4_MAGIC = Buffer.from([0x04, 0x22, 0x4d, 0x18]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

async function decompress(codec: KafkaCodecName, data: Uint8Array): Promise<Buffer> {
  return Buffer.from(await defaultDecompressors[codec](data));
}

/** As text: a readable diff when it fails, and much faster than comparing 79 KB Buffers element-wise. */
async function decompressText(codec: KafkaCodecName, data: Uint8Array): Promise<string> {
  return (await decompress(codec, data)).toString("utf8");
}

async function decompressError(codec: KafkaCodecName, data: Uint8Array): Promise<DecompressionError> {
  const error: unknown = await Promise.resolve()
    .then(() => defaultDecompressors[codec](data))
    .then(
      () => null,
      (thrown: unknown) => thrown,
    );
  expect(error).toBeInstanceOf(DecompressionError);
  expect((error as DecompressionError).codec).toBe(codec);
  return error as DecompressionError;
}

/** How many length-prefixed chunks follow the 16-byte xerial header. */
function xerialChunkCount(data: Buffer): number {
  let chunks = 0;
  for (let offset = 16; offset < data.length; offset += 4 + data.readInt32BE(offset)) chunks++;
  return chunks;
}

/** How many blocks an LZ4 frame without content size holds: its 7-byte header, then length-prefixed blocks up to a zero length. */
function lz4BlockCount(data: Buffer): number {
  let blocks = 0;
  const blockChecksumBytes = data[4]! & 0x10 ? 4 : 0;
  for (let offset = 7; data.readUInt32LE(offset) !== 0; offset += 4 + (data.readUInt32LE(offset) & 0x7fffffff) + blockChecksumBytes) blocks++;
  return blocks;
}

/** xerial's SnappyOutputStream framing around raw snappy blocks of the given pieces of `data`. */
function xerialFrame(data: Uint8Array, cuts: readonly number[]): Buffer {
  const header = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]);
  const bounds = [0, ...[...cuts].sort((a, b) => a - b).map((cut) => Math.min(cut, data.length)), data.length];
  const chunks = bounds.slice(1).map((end, i) => {
    const block = Buffer.from(compressSnappyBlock(data.subarray(bounds[i]!, end)));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    return Buffer.concat([length, block]);
  });
  return Buffer.concat([header, ...chunks]);
}

/** Compressible bytes (repeated words) as well as arbitrary ones. */
const payloads = fc.oneof(
  fc.uint8Array({ maxLength: 3_000 }),
  fc.array(fc.constantFrom("job", "succeeded", "{", "}", '"', ":", "trace-", "0123456789abcdef", "\n"), { maxLength: 2_000 }).map((words) => Buffer.from(words.join(""))),
);

describe("the decompressors, on what Kafka's Java libraries produce", () => {
  it("decodes gzip as Kafka's GzipCompression writes it", async () => {
    expect(await decompressText("gzip", fixtureBytes("gzip-kafka"))).toBe(fixtureText(1000));
  });

  it("decodes xerial-framed snappy with several chunks, as Kafka's Java client writes it", async () => {
    const data = fixtureBytes("snappy-xerial-kafka");
    expect(data.subarray(0, 8)).toEqual(XERIAL_MAGIC);
    // 79 KB of text in SnappyOutputStream's 32 KB chunks.
    expect(xerialChunkCount(data)).toBe(3);
    expect(await decompressText("snappy", data)).toBe(fixtureText(1000));
  });

  it("decodes one raw snappy block, as librdkafka writes it", async () => {
    const data = fixtureBytes("snappy-raw");
    expect(data.subarray(0, 8)).not.toEqual(XERIAL_MAGIC);
    expect(await decompressText("snappy", data)).toBe(fixtureText(40));
  });

  it("decodes an LZ4 frame of several 64 KB blocks without checksums, as Kafka's Java client writes it", async () => {
    const data = fixtureBytes("lz4-kafka");
    expect(data.subarray(0, 4)).toEqual(LZ4_MAGIC);
    expect(data[4]! & 0x1c).toBe(0); // no block checksum, content size or content checksum
    expect((data[5]! >> 4) & 7).toBe(4); // 64 KB blocks
    expect(lz4BlockCount(data)).toBe(2);
    expect(await decompressText("lz4", data)).toBe(fixtureText(1000));
  });

  it("decodes an LZ4 frame with block checksums, content size and content checksum, verifying them", async () => {
    const data = fixtureBytes("lz4-frame-checksums");
    expect(data[4]! & 0x1c).toBe(0x1c);
    expect(await decompressText("lz4", data)).toBe(fixtureText(1000));
  });

  it("decodes zstd as Kafka's ZstdCompression writes it", async () => {
    const data = fixtureBytes("zstd-kafka");
    expect(data.subarray(0, 4)).toEqual(ZSTD_MAGIC);
    expect(await decompressText("zstd", data)).toBe(fixtureText(1000));
  });

  it("decodes several concatenated zstd frames, stepping over a skippable frame between them", async () => {
    const data = fixtureBytes("zstd-multi-frame");
    expect(data.subarray(0, 4)).toEqual(ZSTD_MAGIC);
    expect(data.indexOf(ZSTD_MAGIC, 4)).toBeGreaterThan(4);
    expect(await decompressText("zstd", data)).toBe(fixtureText(1000));
  });
});

describe("the decompressors, on what the JavaScript encoders produce", () => {
  it("decode any raw snappy block snappyjs writes", async () => {
    await fc.assert(fc.asyncProperty(payloads, async (payload) => {
      expect(await decompress("snappy", compressSnappyBlock(payload))).toEqual(Buffer.from(payload));
    }));
  });

  it("decode any xerial framing of snappyjs blocks, however the input is cut into chunks", async () => {
    await fc.assert(fc.asyncProperty(payloads, fc.array(fc.nat(3_000), { maxLength: 4 }), async (payload, cuts) => {
      expect(await decompress("snappy", xerialFrame(payload, cuts))).toEqual(Buffer.from(payload));
    }));
  });

  it("decode any LZ4 frame lz4js writes, including its uncompressed blocks", async () => {
    await fc.assert(fc.asyncProperty(payloads, async (payload) => {
      expect(await decompress("lz4", compressLz4Frame(payload))).toEqual(Buffer.from(payload));
    }));
  });

  it("decode two LZ4 frames written one after the other", async () => {
    const [first, second] = [Buffer.from(fixtureText(10)), Buffer.from(fixtureText(20))];
    const data = Buffer.concat([compressLz4Frame(first), compressLz4Frame(second)]);
    expect(await decompressText("lz4", data)).toBe(fixtureText(10) + fixtureText(20));
  });
});

describe("the decompressors, on input that is not what it claims to be", () => {
  it("report a truncated batch for every codec, naming the codec", async () => {
    for (const [codec, name] of [["gzip", "gzip-kafka"], ["snappy", "snappy-xerial-kafka"], ["snappy", "snappy-raw"], ["lz4", "lz4-kafka"], ["zstd", "zstd-kafka"]] as const) {
      const data = fixtureBytes(name);
      const error = await decompressError(codec, data.subarray(0, data.length - 100));
      expect(error.message).toMatch(new RegExp(`^cannot decompress a record batch \\(${codec}\\): `));
    }
    expect((await decompressError("lz4", fixtureBytes("lz4-kafka").subarray(0, 5000))).message).toContain("truncated LZ4 frame: a block of");
    expect((await decompressError("snappy", fixtureBytes("snappy-xerial-kafka").subarray(0, 5000))).message).toContain("truncated xerial snappy stream");
  });

  it("report bytes of another format, and empty input", async () => {
    const text = Buffer.from("plain text, not compressed at all");
    for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
      await decompressError(codec, text);
      await decompressError(codec, new Uint8Array(0));
    }
    expect((await decompressError("lz4", fixtureBytes("zstd-kafka"))).message).toContain("not an LZ4 frame at byte 0");
  });

  it("report an LZ4 block whose checksum does not match", async () => {
    const data = Buffer.from(fixtureBytes("lz4-frame-checksums"));
    data.writeUInt8(data.readUInt8(2_000) ^ 0x01, 2_000);
    expect((await decompressError("lz4", data)).message).toContain("LZ4 block checksum mismatch");
  });

  it("report an LZ4 match that reaches before the start of the output, instead of inventing bytes", async () => {
    const data = Buffer.from(fixtureBytes("lz4-kafka"));
    // The first block: its length at byte 7, then a token with 10 literals, then the match distance.
    expect(data[11]! >> 4).toBe(10);
    data.writeUInt16LE(0xffff, 22);
    expect((await decompressError("lz4", data)).message).toContain("match distance 65535 reaches before the start of the output");
  });

  it("report an LZ4 frame descriptor that was altered", async () => {
    const data = Buffer.from(fixtureBytes("lz4-kafka"));
    data[5] = 0x70; // 4 MB blocks: the descriptor checksum no longer matches
    expect((await decompressError("lz4", data)).message).toContain("descriptor checksum mismatch");
  });
});

describe("registerKafkaCodecs", () => {
  afterAll(() => registerKafkaCodecs());

  const codecOf = (type: number) => (kafkajs.CompressionCodecs as Record<number, () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> }>)[type]!();

  it("makes kafkajs decode snappy, LZ4 and zstd with the given decompressors, into Buffers", async () => {
    registerKafkaCodecs();
    for (const [type, name] of [[kafkajs.CompressionTypes.Snappy, "snappy-xerial-kafka"], [kafkajs.CompressionTypes.LZ4, "lz4-kafka"], [kafkajs.CompressionTypes.ZSTD, "zstd-kafka"], [kafkajs.CompressionTypes.GZIP, "gzip-kafka"]] as const) {
      const decoded = await codecOf(type).decompress(fixtureBytes(name));
      expect(Buffer.isBuffer(decoded)).toBe(true);
      expect(decoded.toString()).toBe(fixtureText(1000));
    }
  });

  it("hands kafkajs's calls to the decompressors it was given, and registering again changes nothing", async () => {
    const calls: KafkaCodecName[] = [];
    const counting = Object.fromEntries(
      (["gzip", "snappy", "lz4", "zstd"] as const).map((codec) => [codec, (data: Uint8Array) => (calls.push(codec), defaultDecompressors[codec](data))]),
    ) as Record<KafkaCodecName, (data: Uint8Array) => Uint8Array | Promise<Uint8Array>>;
    registerKafkaCodecs(counting);
    registerKafkaCodecs(counting);
    await codecOf(kafkajs.CompressionTypes.ZSTD).decompress(fixtureBytes("zstd-multi-frame"));
    await codecOf(kafkajs.CompressionTypes.Snappy).decompress(fixtureBytes("snappy-raw"));
    expect(calls).toEqual(["zstd", "snappy"]);
  });

  it("refuses to compress with the codecs it only decodes, and still compresses gzip like kafkajs", async () => {
    registerKafkaCodecs();
    await expect(codecOf(kafkajs.CompressionTypes.LZ4).compress({ buffer: Buffer.from("x") })).rejects.toThrow(/producing lz4-compressed batches is not supported/);
    const gzipped = await codecOf(kafkajs.CompressionTypes.GZIP).compress({ buffer: Buffer.from(fixtureText(5)) });
    expect((await codecOf(kafkajs.CompressionTypes.GZIP).decompress(gzipped)).toString()).toBe(fixtureText(5));
  });
});
