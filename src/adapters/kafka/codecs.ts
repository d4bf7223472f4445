import { Buffer } from "node:buffer";
import { promisify } from "node:util";
import { gzip, unzip } from "node:zlib";
import { decompress as decompressZstd } from "fzstd";
// Default import: Node's named exports of this CommonJS module miss these two (`Compression.Codecs` values).
import kafkajs, { type CompressionTypes } from "kafkajs";
import { decodeLz4Frames } from "./lz4-frame.ts";
import { decodeSnappy } from "./snappy.ts";
import { placeholdersOnFailure, unknownCodec } from "./undecodable-batches.ts";

/**
 * Decompression of Kafka record batches for kafkajs, which implements only gzip itself. Pure
 * JavaScript (snappyjs, fzstd, our LZ4 frame decoder) and node:zlib, so it runs unchanged on
 * Deno and needs no native binary. The dispatcher only consumes: producing with these codecs is
 * refused, except gzip, which stays what kafkajs does.
 */

export type KafkaCodecName = "gzip" | "snappy" | "lz4" | "zstd";

/** The compressed payload of one record batch to its decoded records section. */
export type Decompressor = (data: Uint8Array) => Uint8Array | Promise<Uint8Array>;

export type KafkaDecompressors = Readonly<Record<KafkaCodecName, Decompressor>>;

/** What the default decompressors throw for input that is not valid for their codec. */
export class DecompressionError extends Error {
  override readonly name = "DecompressionError";
  readonly codec: KafkaCodecName;

  constructor(codec: KafkaCodecName, cause: unknown) {
    super(`cannot decompress a record batch (${codec}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.codec = codec;
  }
}

const unzipAsync = promisify(unzip);
const gzipAsync = promisify(gzip);

export const defaultDecompressors: KafkaDecompressors = Object.freeze({
  // Like kafkajs's own gzip codec: unzip also accepts zlib-wrapped deflate.
  gzip: (data) => unzipAsync(data).catch((error: unknown) => Promise.reject(new DecompressionError("gzip", error))),
  snappy: reportingAs("snappy", decodeSnappy),
  lz4: reportingAs("lz4", decodeLz4Frames),
  zstd: reportingAs("zstd", decodeZstdFrames),
});

const CODEC_TYPES: Readonly<Record<KafkaCodecName, Exclude<CompressionTypes, CompressionTypes.None>>> = {
  gzip: kafkajs.CompressionTypes.GZIP,
  snappy: kafkajs.CompressionTypes.Snappy,
  lz4: kafkajs.CompressionTypes.LZ4,
  zstd: kafkajs.CompressionTypes.ZSTD,
};

/**
 * Makes kafkajs decode batches compressed with each codec of `decompressors`. It replaces entries
 * of kafkajs's module-wide codec table, so it affects every kafkajs client in the process;
 * calling it again with the same decompressors changes nothing. A batch that a decompressor
 * cannot decode, or whose codec id Kafka does not define, becomes placeholder records that the
 * consumer dead-letters (see undecodable-batches.ts) instead of a crash.
 */
export function registerKafkaCodecs(decompressors: KafkaDecompressors = defaultDecompressors): void {
  for (const codec of Object.keys(CODEC_TYPES) as KafkaCodecName[]) {
    const decompress = decompressors[codec];
    const implementation = {
      compress: codec === "gzip" ? (encoder: { buffer: Buffer }) => gzipAsync(encoder.buffer) : () => refuseToCompress(codec),
      decompress: placeholdersOnFailure(async (buffer: Buffer): Promise<Buffer> => asBuffer(await decompress(buffer))),
    };
    kafkajs.CompressionCodecs[CODEC_TYPES[codec]] = () => implementation;
  }
  // The three bits of the codec field allow ids 5-7; without an entry kafkajs would read the
  // compressed bytes as plain records.
  const codecTable = kafkajs.CompressionCodecs as unknown as Record<number, () => unknown>;
  for (const id of UNDEFINED_CODEC_IDS) {
    const compress = () => Promise.reject(new Error(`codec ${id} is not one Kafka defines: nothing can be compressed with it`));
    const implementation = { compress, decompress: placeholdersOnFailure(unknownCodec(id)) };
    codecTable[id] = () => implementation;
  }
}

const UNDEFINED_CODEC_IDS = [5, 6, 7] as const;

function reportingAs(codec: KafkaCodecName, decode: (data: Uint8Array) => Uint8Array): Decompressor {
  return (data) => {
    try {
      return decode(data);
    } catch (error) {
      throw new DecompressionError(codec, error);
    }
  };
}

/** fzstd decodes every concatenated frame and steps over skippable ones, but takes no input at all for an empty frame. */
function decodeZstdFrames(data: Uint8Array): Uint8Array {
  if (data.length === 0) throw new Error("no zstd frame: the compressed records are empty");
  return decompressZstd(data);
}

function refuseToCompress(codec: KafkaCodecName): Promise<never> {
  return Promise.reject(new Error(`producing ${codec}-compressed batches is not supported: the dispatcher only decompresses ${codec}`));
}

/** kafkajs reads the records with Buffer methods. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
