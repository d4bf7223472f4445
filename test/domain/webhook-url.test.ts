import { describe, expect, it } from "vitest";
import { checkWebhookUrl } from "../../src/domain/webhook-url.ts";

describe("checkWebhookUrl", () => {
  it.each([
    ["https://example.com/hook", "https://example.com/hook"],
    ["http://example.com", "http://example.com/"],
    ["HTTPS://Example.COM:443/a/../b?q=1#frag", "https://example.com/b?q=1#frag"],
    ["  https://example.com/x  ", "https://example.com/x"],
    ["http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"],
    ["https://[::1]/hook", "https://[::1]/hook"],
    ["https://bücher.example/", "https://xn--bcher-kva.example/"],
  ])("accepts %j as %j", (raw, href) => {
    expect(checkWebhookUrl(raw)).toEqual({ ok: true, url: href });
  });

  it.each([
    ["", "invalid_url: not an absolute URL"],
    ["example.com/hook", "invalid_url: not an absolute URL"],
    ["/relative", "invalid_url: not an absolute URL"],
    ["http://", "invalid_url: not an absolute URL"],
    ["ftp://example.com/", "invalid_url: scheme must be http or https, got ftp:"],
    ["javascript:alert(1)", "invalid_url: scheme must be http or https, got javascript:"],
    ["file:///etc/passwd", "invalid_url: scheme must be http or https, got file:"],
    ["https://user:pass@example.com/", "invalid_url: credentials in the URL are not allowed"],
    ["https://user@example.com/", "invalid_url: credentials in the URL are not allowed"],
  ])("rejects %j", (raw, reason) => {
    expect(checkWebhookUrl(raw)).toEqual({ ok: false, reason });
  });

  it("does not echo credentials in its reason", () => {
    const result = checkWebhookUrl("https://admin:hunter2@example.com/");
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain("hunter2");
  });
});
