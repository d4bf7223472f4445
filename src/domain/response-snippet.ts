/** Bytes of a response body kept on the attempt row, and so all that a sender needs to keep of it. */
export const RESPONSE_SNIPPET_BYTES = 4096;

// Decoding is non-fatal: a receiver's bad bytes must not lose the rest of the snippet.
// The default BOM handling drops a leading U+FEFF, which is noise in a stored snippet.
const lenientUtf8 = new TextDecoder("utf-8");

/**
 * The stored form of a response body: at most `maxBytes` bytes, decoded as UTF-8 with invalid
 * bytes replaced by U+FFFD (a character cut at the end becomes a single U+FFFD) and NUL
 * characters removed, because Postgres `text` cannot hold them.
 */
export function decodeResponseSnippet(bytes: Uint8Array, maxBytes: number): string {
  const limit = Math.max(0, Math.floor(maxBytes));
  const text = lenientUtf8.decode(bytes.length > limit ? bytes.subarray(0, limit) : bytes);
  return text.replaceAll("\u0000", "");
}
