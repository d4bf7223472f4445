import type { SendErrorKind } from "../../domain/send-result.ts";

/**
 * What went wrong in a send, from the error undici (or the destination guard) threw: one of the
 * classifier's `SendErrorKind`s, chosen by error code, never by message text, and a short
 * message fit for the attempt row.
 */

const kindByCode: Readonly<Record<string, SendErrorKind>> = {
  // The destination guard's own errors (destination-guard.ts).
  ERR_BLOCKED_DESTINATION: "blocked_destination",
  ERR_DESTINATION_LOOKUP: "dns_failure",
  ECONNREFUSED: "connection_refused",
  ECONNRESET: "connection_reset",
  EPIPE: "connection_reset",
  UND_ERR_SOCKET: "connection_reset",
  UND_ERR_CLOSED: "connection_reset",
  ENOTFOUND: "dns_failure",
  EAI_AGAIN: "dns_failure",
  EAI_NONAME: "dns_failure",
  EAI_FAIL: "dns_failure",
  UND_ERR_CONNECT_TIMEOUT: "timeout",
  UND_ERR_HEADERS_TIMEOUT: "timeout",
  UND_ERR_BODY_TIMEOUT: "timeout",
  ETIMEDOUT: "timeout",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "tls_error",
  DEPTH_ZERO_SELF_SIGNED_CERT: "tls_error",
  SELF_SIGNED_CERT_IN_CHAIN: "tls_error",
};

const tlsCodePrefixes = ["ERR_TLS_", "ERR_SSL_", "ERR_OSSL_", "CERT_", "UNABLE_TO_GET_ISSUER_CERT"];

/** Maps a thrown runtime error onto a kind and a short message without headers or the URL. */
export function describeSendError(err: unknown, deadlineExpired: boolean): { error: SendErrorKind; message: string } {
  const chain = errorChain(err);
  const message = shortMessage(chain);
  if (deadlineExpired) return { error: "timeout", message };
  for (const link of chain) {
    const kind = kindOfCode(link.code) ?? (link.name === "TimeoutError" || link.name === "AbortError" ? "timeout" : undefined);
    // The guard's message is the whole story (address and range), and goes to the attempt row as is.
    if (kind === "blocked_destination") return { error: kind, message: link.message };
    if (kind !== undefined) return { error: kind, message };
  }
  return { error: "network_error", message };
}

interface ErrorLink {
  readonly code: string | undefined;
  readonly name: string;
  readonly message: string;
}

/** The error, its `cause`s and an AggregateError's members (Node's happy-eyeballs connect). */
function errorChain(err: unknown): ErrorLink[] {
  const links: ErrorLink[] = [];
  const pending: unknown[] = [err];
  while (pending.length > 0 && links.length < 8) {
    const current = pending.shift();
    if (typeof current !== "object" || current === null) {
      if (current !== undefined) links.push({ code: undefined, name: "", message: String(current) });
      continue;
    }
    const record = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    links.push({
      code: typeof record.code === "string" ? record.code : undefined,
      name: typeof record.name === "string" ? record.name : "",
      message: typeof record.message === "string" ? record.message : "",
    });
    if (record.cause !== undefined) pending.push(record.cause);
    if (Array.isArray(record.errors)) pending.push(...record.errors);
  }
  return links;
}

function kindOfCode(code: string | undefined): SendErrorKind | undefined {
  if (code === undefined) return undefined;
  return kindByCode[code] ?? (tlsCodePrefixes.some((prefix) => code.startsWith(prefix)) ? "tls_error" : undefined);
}

/**
 * Node's and undici's messages name host and port, never the path; a URL is cut out all the same,
 * since its query may carry a token. Under Deno too, undici's errors carry Node's codes (checked:
 * refused, reset, self-signed certificate), so messages are never needed to classify.
 */
function shortMessage(chain: readonly ErrorLink[]): string {
  const parts: string[] = [];
  for (const link of chain) {
    const text = link.message.split("\n")[0] ?? "";
    const labelled = link.code !== undefined && !text.includes(link.code) ? `${link.code}: ${text}` : text;
    if (labelled !== "" && !parts.some((part) => part.includes(labelled))) parts.push(labelled);
  }
  const joined = parts.join(": ").replace(/\bhttps?:\/\/[^\s)]*/gi, "<url>");
  return (joined === "" ? "unknown network error" : joined).slice(0, 300);
}
