/**
 * `npm run receiver`: a webhook receiver to try the dispatcher with. It listens on
 * http://127.0.0.1:$RECEIVER_PORT (9000), answers 200 to every POST, and prints each webhook:
 * its path, `webhook-id`, whether both signatures verified with $WEBHOOK_SECRET (the secret of
 * the README's quick start by default), and its body.
 */
import { startSampleReceiver, type Receipt } from "./sample-receiver.ts";

const DEFAULT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BODY_SHOWN_CHARS = 2_000;

const port = Number(process.env["RECEIVER_PORT"] ?? "9000");
const secret = process.env["WEBHOOK_SECRET"] || DEFAULT_SECRET;
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`RECEIVER_PORT must be a port number, got ${JSON.stringify(process.env["RECEIVER_PORT"])}`);
  process.exit(2);
}

const receiver = await startSampleReceiver({ port, secretFor: () => secret, reply: () => ({ status: 200, body: "ok" }), onReceipt: print });
console.log(`sample receiver listening on ${receiver.url}; verifying signatures with ${secret.slice(0, 10)}… (WEBHOOK_SECRET)`);

function print(receipt: Receipt): void {
  const { standardWebhooks, hexHmac } = receipt.verified;
  const verdict = standardWebhooks && hexHmac ? "signature verified" : `signature NOT verified (webhook-signature ${ok(standardWebhooks)}, x-gs-signature ${ok(hexHmac)})`;
  const body = receipt.body.toString("utf8");
  console.log(`${new Date(receipt.receivedAt).toISOString()}  POST ${receipt.path}  webhook-id ${receipt.headers["webhook-id"] ?? "-"}  ${verdict}`);
  console.log(`  ${body.length > BODY_SHOWN_CHARS ? `${body.slice(0, BODY_SHOWN_CHARS)}… (${receipt.body.length} bytes)` : body}`);
}

function ok(verified: boolean): string {
  return verified ? "ok" : "failed";
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void receiver.close().then(() => process.exit(0)));
}
