/** What stands in for a secret in anything the API shows. */
const REDACTED = "[redacted]";
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8 = new TextEncoder();
// A "secret" member with a string value, as JSON text; for bytes that are not JSON (a truncated
// or malformed event can still hold a secret).
const SECRET_MEMBER = /("secret"\s*:\s*)"(?:[^"\\]|\\.)*"/g;

/**
 * The bytes of a stored event with the value of every `secret` member replaced by
 * `[redacted]`: dead letters keep the event as it arrived, and an event may carry its job's
 * webhook secret, which the API never shows. JSON is redacted by its structure (so an escaped
 * key cannot hide one), anything else by its text, byte for byte elsewhere. Bytes without a
 * secret come back unchanged.
 */
export function redactSecrets(raw: Uint8Array): Uint8Array {
  const json = parseJson(raw);
  if (json.ok) {
    const { value, changed } = redactValue(json.value);
    return changed ? utf8.encode(JSON.stringify(value)) : raw;
  }
  // latin1 maps each byte to one character and back, so the bytes around a match stay as they were.
  const text = latin1Of(raw);
  const redacted = text.replace(SECRET_MEMBER, `$1"${REDACTED}"`);
  return redacted === text ? raw : bytesOfLatin1(redacted);
}

function redactValue(value: unknown): { value: unknown; changed: boolean } {
  if (Array.isArray(value)) {
    const items = value.map(redactValue);
    return { value: items.map((item) => item.value), changed: items.some((item) => item.changed) };
  }
  if (typeof value !== "object" || value === null) return { value, changed: false };
  let changed = false;
  const copy: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (key === "secret" && member !== null) {
      copy[key] = REDACTED;
      changed = true;
      continue;
    }
    const inner = redactValue(member);
    copy[key] = inner.value;
    changed ||= inner.changed;
  }
  return { value: copy, changed };
}

function parseJson(raw: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(strictUtf8.decode(raw)) };
  } catch {
    return { ok: false };
  }
}

function latin1Of(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return text;
}

function bytesOfLatin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
