import type { HmacSha256 } from "../domain/signer.ts";

/**
 * HMAC-SHA256 with Web Crypto (`globalThis.crypto.subtle`), present on Node 20 and Deno alike.
 * The dispatcher does not sign with it (`node-crypto-hmac.ts` is about 20 times faster); the
 * tests do, to show the signatures do not depend on the implementation.
 */
export const webCryptoHmacSha256: HmacSha256 = async (key, message) => {
  // Web Crypto's types accept only ArrayBuffer-backed views; the copies satisfy them at the cost
  // of one memcpy of a ~1 KiB body.
  const cryptoKey = await crypto.subtle.importKey("raw", new Uint8Array(key), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, new Uint8Array(message)));
};
