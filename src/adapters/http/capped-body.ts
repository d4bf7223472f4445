import { RESPONSE_SNIPPET_BYTES } from "../../domain/response-snippet.ts";

/** How much of a receiver's answer is read and kept: a hostile body cannot fill memory. */
export interface BodyLimits {
  /** Bytes read at most; a longer body is cut off and its connection dropped. */
  readonly maxResponseBytes: number;
  /** Bytes kept as `bodySnippet`. */
  readonly snippetBytes: number;
}

export function resolveBodyLimits(options: Partial<BodyLimits>): BodyLimits {
  // Reading up to 64 KiB lets a typical small answer finish, so its connection stays reusable.
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
  const snippetBytes = Math.min(options.snippetBytes ?? RESPONSE_SNIPPET_BYTES, maxResponseBytes);
  return { maxResponseBytes, snippetBytes };
}

/**
 * Reads a body up to `maxResponseBytes`, keeping the first `snippetBytes`. Stopping early ends
 * the iteration, which destroys the response's Node stream.
 */
export async function readCappedBody(
  chunks: AsyncIterable<Uint8Array>,
  limits: BodyLimits,
): Promise<{ bodySnippet: Uint8Array; bodyTruncated: boolean }> {
  const snippet = new Uint8Array(limits.snippetBytes);
  let kept = 0;
  let total = 0;
  let stoppedEarly = false;
  for await (const chunk of chunks) {
    if (kept < snippet.length) {
      const part = chunk.subarray(0, snippet.length - kept);
      snippet.set(part, kept);
      kept += part.length;
    }
    total += chunk.length;
    if (total >= limits.maxResponseBytes) {
      stoppedEarly = true;
      break;
    }
  }
  return { bodySnippet: snippet.slice(0, kept), bodyTruncated: stoppedEarly || total > kept };
}
