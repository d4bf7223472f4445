import { Buffer } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64, toBase64, toHex } from "../../src/domain/encoding.ts";

describe("encoding", () => {
  it("hex-encodes bytes in lowercase with two digits per byte", () => {
    expect(toHex(new Uint8Array([0, 1, 15, 16, 171, 255]))).toBe("00010f10abff");
    expect(toHex(new Uint8Array())).toBe("");
  });

  it("hex-encodes any bytes exactly as Node's Buffer does", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(toHex(bytes)).toBe(Buffer.from(bytes).toString("hex"));
      }),
    );
  });

  it("base64-encodes any bytes exactly as Node's Buffer does", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
      }),
    );
  });

  it("decodes what it encodes, for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      }),
    );
  });

  it("encodes inputs larger than the argument-spreading limit", () => {
    const bytes = new Uint8Array(200_000).map((_, i) => i % 256);
    const text = toBase64(bytes);
    expect(text).toBe(Buffer.from(bytes).toString("base64"));
    // Compared as Buffers: an element-wise toEqual of 200,000 entries takes over a second.
    expect(Buffer.from(fromBase64(text) ?? []).equals(Buffer.from(bytes))).toBe(true);
  });

  it("accepts base64 without padding", () => {
    expect(fromBase64("YWI")).toEqual(new Uint8Array([97, 98]));
    expect(fromBase64("YQ")).toEqual(new Uint8Array([97]));
  });

  it.each(["Y", "YWJj=", "YW=I", "YW I=", "YW\nI=", "YW_I", "YW-I", "====", "YWJjZA==="])(
    "rejects %j as invalid base64",
    (text) => {
      expect(fromBase64(text)).toBeNull();
    },
  );
});
