/** A webhook URL that may be sent to, or why not. Reasons start with `invalid_url: `. */
export type CheckedWebhookUrl = { readonly ok: true; readonly url: string } | { readonly ok: false; readonly reason: string };

/**
 * Checks a webhook URL with the WHATWG parser (what fetch and undici use): absolute, http or
 * https, a host, and no credentials. Returns the normalised href. Reasons never echo the URL,
 * since a URL with credentials in it is itself secret-bearing. Whether the host is an allowed
 * destination is the sender's decision, not this one's.
 */
export function checkWebhookUrl(raw: string): CheckedWebhookUrl {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return invalid("not an absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return invalid(`scheme must be http or https, got ${url.protocol.slice(0, 20)}`);
  }
  if (url.username !== "" || url.password !== "") return invalid("credentials in the URL are not allowed");
  if (url.hostname === "") return invalid("missing host");
  return { ok: true, url: url.href };
}

function invalid(detail: string): CheckedWebhookUrl {
  return { ok: false, reason: `invalid_url: ${detail}` };
}
