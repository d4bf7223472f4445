/**
 * A receiver's check of both signatures of one webhook, as docs/webhooks.md tells customers to
 * verify them: Standard Webhooks with its reference library, and the hex HMAC of the body with
 * node:crypto. Shared by every sample receiver (the demo's and the tests', the benchmark's) so
 * they all verify the same way, independently of the dispatcher's signer.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { Webhook } from "standardwebhooks";

/** Which of the two signature schemes verified. */
export interface SignatureCheck {
  readonly standardWebhooks: boolean;
  readonly hexHmac: boolean;
}

export type SignatureVerifier = (headers: Readonly<Record<string, string>>, body: Buffer) => SignatureCheck;

/** A verifier for webhooks signed with `secret`; build it once per secret, call it per request. */
export function createSignatureVerifier(secret: string): SignatureVerifier {
  const webhook = standardWebhook(secret);
  return (headers, body) => {
    let standardWebhooks = false;
    try {
      // Throws when no signature matches or the timestamp is more than 5 minutes from now.
      webhook?.verify(body.toString("utf8"), headers);
      standardWebhooks = webhook !== null;
    } catch {
      standardWebhooks = false;
    }
    const expected = createHmac("sha256", secret).update(body).digest();
    const given = Buffer.from(headers["x-gs-signature"] ?? "", "hex");
    const hexHmac = given.length === expected.length && timingSafeEqual(given, expected);
    return { standardWebhooks, hexHmac };
  };
}

/** The library's verifier for `secret`, or null for a secret it refuses (empty, or `whsec_` with bad base64). */
function standardWebhook(secret: string): Webhook | null {
  try {
    // The library base64-decodes every string secret; a secret without `whsec_` is keyed by its UTF-8 bytes.
    return secret.startsWith("whsec_") ? new Webhook(secret) : new Webhook(Buffer.from(secret, "utf8"), { format: "raw" });
  } catch {
    return null;
  }
}
