import { createHmac } from "node:crypto";
import { inspect } from "node:util";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { nodeCryptoHmacSha256 } from "../../src/adapters/node-crypto-hmac.ts";
import { webCryptoHmacSha256 } from "../../src/adapters/web-crypto-hmac.ts";
import { makeSecret } from "../../src/domain/secret.ts";
import { secretKeyBytes, signWebhook, validateSecret, webhookIdFor } from "../../src/domain/signer.ts";

const utf8 = new TextEncoder();
const nowSeconds = () => Math.floor(Date.now() / 1000);
const body = utf8.encode('{"job_id":"0b9e4c1e-8f5a-4d7e-9a51-7f2d7e1f3a10","status":"succeeded"}');

describe("HMAC implementations", () => {
  it.each([
    ["node:crypto", nodeCryptoHmacSha256],
    ["Web Crypto", webCryptoHmacSha256],
  ])("%s reproduces the Standard Webhooks test vector", async (_name, hmac) => {
    const headers = await signWebhook({
      hmac,
      webhookId: "msg_p5jXN8AQM9LWM0D4loKWxJek",
      timestampSeconds: 1614265330,
      body: utf8.encode('{"test": 2432232314}'),
      secrets: [makeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")],
    });
    expect(headers["webhook-signature"]).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });
});

describe("signWebhook", () => {
  it("reproduces the Standard Webhooks test vector", async () => {
    const headers = await signWebhook({
      hmac: webCryptoHmacSha256,
      webhookId: "msg_p5jXN8AQM9LWM0D4loKWxJek",
      timestampSeconds: 1614265330,
      body: utf8.encode('{"test": 2432232314}'),
      secrets: [makeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")],
    });
    expect(headers["webhook-signature"]).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("sends every documented header, names in lowercase", async () => {
    const headers = await signWebhook({
      hmac: webCryptoHmacSha256,
      webhookId: "msg_abc",
      timestampSeconds: 1700000000,
      body,
      secrets: [makeSecret("s3cret")],
    });
    expect(Object.keys(headers).sort()).toEqual([
      "content-type",
      "user-agent",
      "webhook-id",
      "webhook-signature",
      "webhook-timestamp",
      "x-gs-signature",
      "x-gs-timestamp",
    ]);
    expect(headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": "Stories-Webhook/1.0",
      "webhook-id": "msg_abc",
      "webhook-timestamp": "1700000000",
      "x-gs-timestamp": "1700000000",
    });
  });

  it("produces a signature the standardwebhooks package verifies", async () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const headers = await signWebhook({
      hmac: webCryptoHmacSha256,
      webhookId: webhookIdFor("0b9e4c1e-8f5a-4d7e-9a51-7f2d7e1f3a10"),
      timestampSeconds: nowSeconds(),
      body,
      secrets: [makeSecret(secret)],
    });
    const payload = new TextDecoder().decode(body);
    expect(new Webhook(secret).verify(payload, headers)).toEqual(JSON.parse(payload));
  });

  it("keys the Standard Webhooks signature with the UTF-8 bytes of a secret without whsec_", async () => {
    const secret = "plain-secret-ümlaut";
    const headers = await signWebhook({ hmac: webCryptoHmacSha256, webhookId: "msg_1", timestampSeconds: nowSeconds(), body, secrets: [makeSecret(secret)] });
    const receiver = new Webhook(utf8.encode(secret), { format: "raw" });
    expect(() => receiver.verify(new TextDecoder().decode(body), headers)).not.toThrow();
  });

  it("computes X-GS-Signature as the receiver recipe does with node:crypto", async () => {
    for (const secret of ["s3cret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ümlaut-key"]) {
      const headers = await signWebhook({ hmac: webCryptoHmacSha256, webhookId: "msg_1", timestampSeconds: 1, body, secrets: [makeSecret(secret)] });
      expect(headers["x-gs-signature"]).toBe(createHmac("sha256", secret).update(body).digest("hex"));
    }
  });

  it("signs with every secret during a rotation, newest first, and X-GS-Signature with the newest", async () => {
    const newest = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const older = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=";
    const headers = await signWebhook({
      hmac: webCryptoHmacSha256,
      webhookId: "msg_rotation",
      timestampSeconds: nowSeconds(),
      body,
      secrets: [makeSecret(newest), makeSecret(older)],
    });
    const entries = (headers["webhook-signature"] ?? "").split(" ");
    expect(entries).toHaveLength(2);
    expect(entries.every((entry) => entry.startsWith("v1,"))).toBe(true);
    const payload = new TextDecoder().decode(body);
    for (const [index, secret] of [newest, older].entries()) {
      // Each secret alone must find its own entry in the header.
      expect(() => new Webhook(secret).verify(payload, headers)).not.toThrow();
      const alone = { ...headers, "webhook-signature": entries[index] ?? "" };
      expect(() => new Webhook(secret).verify(payload, alone)).not.toThrow();
    }
    expect(headers["x-gs-signature"]).toBe(createHmac("sha256", newest).update(body).digest("hex"));
  });

  it("sends no signature headers when the delivery has no secret", async () => {
    const headers = await signWebhook({ hmac: webCryptoHmacSha256, webhookId: "msg_1", timestampSeconds: 5, body, secrets: [] });
    expect(headers["x-gs-signature"]).toBeUndefined();
    expect(headers["webhook-signature"]).toBeUndefined();
    expect(headers["webhook-id"]).toBe("msg_1");
    expect(headers["x-gs-timestamp"]).toBe("5");
  });

  it("writes a fractional timestamp as whole seconds", async () => {
    const headers = await signWebhook({ hmac: webCryptoHmacSha256, webhookId: "msg_1", timestampSeconds: 1700000000.9, body, secrets: [] });
    expect(headers["webhook-timestamp"]).toBe("1700000000");
  });
});

describe("secrets", () => {
  it("never print themselves through String, JSON.stringify or util.inspect", () => {
    const secret = makeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    const printed = [String(secret), `${secret}`, JSON.stringify({ secret }), inspect(secret), inspect({ nested: { secret } })];
    for (const text of printed) expect(text).not.toContain("MfKQ9r8");
  });

  it("use the base64-decoded bytes after whsec_ as the Standard Webhooks key", () => {
    expect(secretKeyBytes("whsec_AAEC/w==")).toEqual(new Uint8Array([0, 1, 2, 255]));
  });

  it("use their UTF-8 bytes as the key when there is no whsec_ prefix", () => {
    expect(secretKeyBytes("é")).toEqual(new Uint8Array([0xc3, 0xa9]));
  });
});

describe("validateSecret", () => {
  it.each(["s3cret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_AAEC/w", "ümlaut-key"])("accepts %j", (secret) => {
    expect(validateSecret(secret)).toBeNull();
  });

  it.each([
    ["", "secret is empty"],
    ["has space", "secret contains whitespace or control characters"],
    ["tab\there", "secret contains whitespace or control characters"],
    ["trailing-newline\n", "secret contains whitespace or control characters"],
    ["nul\u0000", "secret contains whitespace or control characters"],
    ["whsec_", "secret has the whsec_ prefix but no key after it"],
    ["whsec_not*base64!", "secret has the whsec_ prefix but the rest is not valid base64"],
  ])("rejects %j with a reason that does not contain it", (secret, reason) => {
    const result = validateSecret(secret);
    expect(result).toBe(reason);
    if (secret.length > 6) expect(result).not.toContain(secret);
  });
});

describe("webhookIdFor", () => {
  it("is msg_ followed by the delivery uuid without dashes", () => {
    expect(webhookIdFor("0B9E4C1E-8f5a-4d7e-9a51-7f2d7e1f3a10")).toBe("msg_0b9e4c1e8f5a4d7e9a517f2d7e1f3a10");
  });

  it("never contains a dot, the separator of the signed content", () => {
    expect(webhookIdFor("a.b-c")).not.toContain(".");
  });
});
