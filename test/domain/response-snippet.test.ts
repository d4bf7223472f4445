import { describe, expect, it } from "vitest";
import { decodeResponseSnippet } from "../../src/domain/response-snippet.ts";

describe("decodeResponseSnippet", () => {
  const bytes = (...values: number[]) => new Uint8Array(values);
  const utf8 = (text: string) => new TextEncoder().encode(text);

  it("decodes UTF-8 text", () => {
    expect(decodeResponseSnippet(utf8('{"ok":true} — fine ✓'), 1024)).toBe('{"ok":true} — fine ✓');
  });

  it("keeps only the first maxBytes bytes", () => {
    expect(decodeResponseSnippet(utf8("abcdefghij"), 4)).toBe("abcd");
    expect(decodeResponseSnippet(utf8("abc"), 0)).toBe("");
  });

  it("turns a multibyte character cut at the end into a single replacement character", () => {
    // "✓" is E2 9C 93; keeping two of its bytes cuts it.
    expect(decodeResponseSnippet(utf8("ab✓"), 4)).toBe("ab\uFFFD");
  });

  it("replaces invalid bytes instead of failing", () => {
    expect(decodeResponseSnippet(bytes(0x61, 0xff, 0x62, 0xc3, 0x28), 100)).toBe("a\uFFFDb\uFFFD(");
  });

  it("removes NUL characters, which Postgres text cannot hold", () => {
    expect(decodeResponseSnippet(bytes(0x61, 0x00, 0x62, 0x00), 100)).toBe("ab");
  });

  it("returns an empty string for an empty body", () => {
    expect(decodeResponseSnippet(new Uint8Array(), 100)).toBe("");
  });
});
