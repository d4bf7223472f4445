import { fromBase64, toBase64, toHex } from "./encoding.ts";
import type { Secret } from "./secret.ts";

/**
 * HMAC-SHA256 of `message` under `key`. Passed in so the domain stays free of runtime crypto.
 * The dispatcher signs with `node:crypto` (`src/adapters/node-crypto-hmac.ts`, on Node and on
 * Deno); `src/adapters/web-crypto-hmac.ts` does the same with Web Crypto, and the tests sign with both.
 */
export type HmacSha256 = (key: Uint8Array, message: Uint8Array) => Promise<Uint8Array>;

const WHSEC_PREFIX = "whsec_";
const utf8 = new TextEncoder();

/**
 * The Standard Webhooks signing key of a secret: the base64-decoded bytes after `whsec_` when
 * the prefix is present, else the secret's UTF-8 bytes. A `whsec_` secret whose rest is not
 * base64 falls back to its UTF-8 bytes so signing stays total; `validateSecret` rejects such
 * secrets up front.
 */
export function secretKeyBytes(secret: string): Uint8Array {
  if (secret.startsWith(WHSEC_PREFIX)) {
    const decoded = fromBase64(secret.slice(WHSEC_PREFIX.length));
    if (decoded !== null && decoded.length > 0) return decoded;
  }
  return utf8.encode(secret);
}

/**
 * Why a secret cannot be used for signing, or null when it can. The reason never contains
 * the secret, so it can be logged and returned to API clients.
 */
export function validateSecret(secret: string): string | null {
  if (secret === "") return "secret is empty";
  // \s covers Unicode whitespace; the control ranges catch C0, DEL and C1.
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(secret)) return "secret contains whitespace or control characters";
  if (secret.startsWith(WHSEC_PREFIX)) {
    const key = secret.slice(WHSEC_PREFIX.length);
    if (key === "") return "secret has the whsec_ prefix but no key after it";
    if (fromBase64(key) === null) return "secret has the whsec_ prefix but the rest is not valid base64";
  }
  return null;
}

/** The `webhook-id` of a delivery: stable across retries, and without `.` (the signed content's separator). */
export function webhookIdFor(deliveryId: string): string {
  return `msg_${deliveryId.replace(/[-.]/g, "").toLowerCase()}`;
}

/**
 * All headers of one webhook request (docs/webhooks.md), names lowercase.
 * `secrets` are newest first: `x-gs-signature` uses the newest, `webhook-signature` carries
 * one `v1,` entry per secret so receivers can verify during a rotation. With no secrets no
 * signature header is sent. `timestampSeconds` is Unix seconds of this attempt (floored).
 */
export async function signWebhook(params: {
  hmac: HmacSha256;
  webhookId: string;
  timestampSeconds: number;
  body: Uint8Array;
  secrets: readonly Secret[];
}): Promise<Record<string, string>> {
  const { hmac, webhookId, body, secrets } = params;
  const timestamp = String(Math.floor(params.timestampSeconds));
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "Stories-Webhook/1.0",
    "x-gs-timestamp": timestamp,
    "webhook-id": webhookId,
    "webhook-timestamp": timestamp,
  };
  const [newest] = secrets;
  if (newest === undefined) return headers;

  const signedContent = concat(utf8.encode(`${webhookId}.${timestamp}.`), body);
  const [legacy, ...standard] = await Promise.all([
    hmac(utf8.encode(newest.reveal()), body),
    ...secrets.map((secret) => hmac(secretKeyBytes(secret.reveal()), signedContent)),
  ]);
  headers["x-gs-signature"] = toHex(legacy ?? new Uint8Array());
  headers["webhook-signature"] = standard.map((mac) => `v1,${toBase64(mac)}`).join(" ");
  return headers;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
