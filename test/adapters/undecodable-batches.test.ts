import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { defaultDecompressors, registerKafkaCodecs } from "../../src/adapters/kafka/codecs.ts";
import { placeholdersOnFailure, undecodableBatchOf } from "../../src/adapters/kafka/undecodable-batches.ts";

// kafkajs's own record batch decoder, the code that calls a codec's decompress during a fetch.
const require = createRequire(import.meta.url);
const Decoder = require("kafkajs/src/protocol/decoder");
const decodeRecordBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder") as (decoder: unknown) => Promise<{
  records: { offset: string; value: Buffer | null; headers: Record<string, Buffer> }[];
}>;

/** A record batch v2 as a broker returns it: the 61-byte header, then `compressed` as its records. */
function recordBatch(options: { firstOffset: bigint; count: number; lastOffsetDelta: number; codec: number; compressed: Buffer }): Buffer {
  const header = Buffer.alloc(61);
  header.writeBigInt64BE(options.firstOffset, 0);
  header.writeInt32BE(61 - 12 + options.compressed.length, 8);
  header.writeInt8(2, 16); // magic
  header.writeInt16BE(options.codec, 21); // attributes: the codec in the low three bits
  header.writeInt32BE(options.lastOffsetDelta, 23);
  header.writeInt32BE(options.count, 57);
  // Bytes before the batch, as in a fetch response, so the batch does not start the buffer.
  return Buffer.concat([Buffer.from("fetch response header"), header, options.compressed]).subarray(21);
}

describe("undecodable record batches", () => {
  it("turn into one placeholder per record, at the batch's offsets, each naming the whole range and the reason", async () => {
    registerKafkaCodecs({ ...defaultDecompressors, snappy: () => Promise.reject(new Error("corrupt snappy block")) });
    try {
      const batch = recordBatch({ firstOffset: 4_000_000_000n, count: 3, lastOffsetDelta: 4, codec: 2, compressed: Buffer.from("not snappy at all") });
      const { records } = await decodeRecordBatch(new Decoder(batch));
      expect(records.map((r) => r.offset)).toEqual(["4000000000", "4000000001", "4000000004"]);
      expect(records.every((r) => r.value === null)).toBe(true);
      const lost = records.map((record) => undecodableBatchOf(record));
      expect(lost[0]).toEqual({ firstOffset: "4000000000", lastOffset: "4000000004", reason: "corrupt snappy block" });
      expect(new Set(lost.map((l) => JSON.stringify(l))).size).toBe(1);
    } finally {
      registerKafkaCodecs();
    }
  });

  it("also stand in for a batch whose codec id Kafka does not define", async () => {
    registerKafkaCodecs();
    const batch = recordBatch({ firstOffset: 7n, count: 1, lastOffsetDelta: 0, codec: 6, compressed: Buffer.from("??") });
    const { records } = await decodeRecordBatch(new Decoder(batch));
    expect(undecodableBatchOf(records[0]!)).toEqual({ firstOffset: "7", lastOffset: "7", reason: "unknown compression codec 6 in the batch attributes" });
  });

  it("rethrow the decoder's error when the batch header is not where record batch v2 puts it", async () => {
    const failing = placeholdersOnFailure(() => Promise.reject(new Error("bad bytes")));
    await expect(failing(Buffer.from("a buffer of its own, with nothing before it"))).rejects.toThrow("bad bytes");
  });

  it("leave ordinary messages alone, including ones whose headers try to look like a placeholder", () => {
    expect(undecodableBatchOf({ headers: { "stories-dispatcher.undecodable-batch": Buffer.from("{}") } })).toBeNull();
    expect(undecodableBatchOf({})).toBeNull();
  });
});
