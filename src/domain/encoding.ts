/**
 * Hex and base64 for signatures and `whsec_` keys, written against web standards only
 * (`btoa`/`atob` work on "binary strings", one char per byte, so bytes go through that form).
 */

export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

// String.fromCharCode(...bytes) overflows the argument limit on large inputs; chunks keep it safe.
const CHUNK = 0x8000;

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let start = 0; start < bytes.length; start += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(start, start + CHUNK));
  }
  return btoa(binary);
}

// Standard alphabet, padding optional (Svix-style secrets are often unpadded). Stricter than
// `atob`, which silently drops whitespace: a secret with stray whitespace should be rejected, not
// quietly turned into a different key.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** Decodes standard base64 (padding optional); null when `text` is not base64. */
export function fromBase64(text: string): Uint8Array | null {
  if (!BASE64.test(text)) return null;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
