import { lookup as nodeLookup, type LookupAddress, type LookupAllOptions } from "node:dns";
import { buildConnector } from "undici";
import { checkDestination, type DestinationPolicy } from "../../domain/destination-policy.ts";
import { formatIpAddress, parseIpAddress, type IpAddress } from "../../domain/ip-address.ts";

/**
 * The SSRF guard, where the socket is made: an undici connector that resolves the host itself,
 * checks every address against the policy and dials a checked address by IP. Checking the URL
 * before the request would not do: between that check and undici's own lookup a name can be
 * re-pointed at 127.0.0.1 (DNS rebinding). undici calls a connector for every new connection,
 * so each connection is checked; a kept-alive one was checked when it was opened.
 */

/** The `{ all: true }` form of `dns.lookup`; `node:dns`'s own fits, and tests pass a stub. */
export type LookupAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export const defaultLookup: LookupAll = nodeLookup;

/** The destination is denied by the policy; the message names the address and the range. */
export class BlockedDestinationError extends Error {
  readonly code = "ERR_BLOCKED_DESTINATION";
  override readonly name = "BlockedDestinationError";
}

/** The host did not resolve to any usable address: failing closed, nothing is dialled. */
export class DestinationLookupError extends Error {
  readonly code = "ERR_DESTINATION_LOOKUP";
  override readonly name = "DestinationLookupError";
}

export interface GuardedConnectorOptions {
  readonly policy: DestinationPolicy;
  readonly lookup: LookupAll;
  /** Bounds the lookup, and each TCP (and TLS) connect attempt, in ms. */
  readonly timeoutMs: number;
}

/** For `new Agent({ connect })`: undici's own connector (TLS sessions, keep-alive), fed checked IPs. */
export function createGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const dial = buildConnector({ timeout: options.timeoutMs });
  return (target, callback) => {
    checkedAddresses(target.hostname, options).then(
      (checked) => dialInTurn(dial, target, checked, 0, callback),
      (err: unknown) => callback(err instanceof Error ? err : new DestinationLookupError(String(err)), null),
    );
  };
}

interface CheckedAddresses {
  /** Every address the host stands for, all allowed, in the resolver's order. */
  readonly addresses: readonly IpAddress[];
  /** The name to present for TLS (SNI and certificate check); none for a literal IP. */
  readonly servername: string | undefined;
}

/** Rejects with `BlockedDestinationError` if any address is denied: one bad record spoils the name. */
async function checkedAddresses(hostname: string, options: GuardedConnectorOptions): Promise<CheckedAddresses> {
  // undici passes an IPv6 literal without its brackets, and the URL parser has already turned
  // `127.1` and friends into dotted quads; parsing every spelling here costs nothing all the same.
  const literal = parseIpAddress(hostname);
  const addresses = literal === null ? await resolveAll(hostname, options) : [literal];
  for (const address of addresses) {
    const verdict = checkDestination(address, options.policy);
    if (!verdict.allowed) {
      const origin = literal === null ? ` (resolved from ${hostname.slice(0, 100)})` : "";
      throw new BlockedDestinationError(`${verdict.reason}${origin}`);
    }
  }
  return { addresses, servername: literal === null ? hostname : undefined };
}

function resolveAll(hostname: string, options: GuardedConnectorOptions): Promise<IpAddress[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new DestinationLookupError(`looking up ${hostname} took longer than ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const fail = (message: string, cause?: unknown) => {
      clearTimeout(timer);
      reject(new DestinationLookupError(message, { cause }));
    };
    try {
      options.lookup(hostname, { all: true }, (err, records) => {
        if (err !== null) return fail(`could not resolve ${hostname}`, err);
        const addresses = records.map((record) => parseIpAddress(record.address));
        if (addresses.length === 0) return fail(`${hostname} resolved to no address`);
        if (addresses.some((address) => address === null)) return fail(`${hostname} resolved to an address that is not an IP`);
        clearTimeout(timer);
        resolve(addresses as IpAddress[]);
      });
    } catch (err) {
      fail(`could not resolve ${hostname}`, err);
    }
  });
}

/** Connect errors after which the next address of the name is worth a try (e.g. no IPv6 route). */
const unreachableCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * Dials the checked addresses one after the other until one connects. `host` is passed on
 * unchanged, so undici's TLS session cache stays keyed by name, and the Host header (written by
 * the client from its origin, not here) keeps the name too.
 */
function dialInTurn(
  dial: buildConnector.connector,
  target: buildConnector.Options,
  checked: CheckedAddresses,
  index: number,
  callback: buildConnector.Callback,
): void {
  const address = checked.addresses[index];
  if (address === undefined) return callback(new DestinationLookupError("no address left to connect to"), null);
  const servername = target.servername || checked.servername;
  const options = { ...target, hostname: formatIpAddress(address), ...(servername === undefined ? {} : { servername }) };
  const onDialled: buildConnector.Callback = (...result) => {
    const [err] = result;
    const code = (err as { code?: unknown } | null)?.code;
    if (err !== null && index + 1 < checked.addresses.length && typeof code === "string" && unreachableCodes.has(code)) {
      dialInTurn(dial, target, checked, index + 1, callback);
      return;
    }
    callback(...result);
  };
  try {
    dial(options, onDialled);
  } catch (err) {
    // We run after a lookup, outside undici's own try around its connector: a throw here would
    // otherwise leave the request waiting for a callback that never comes.
    callback(err instanceof Error ? err : new Error(String(err)), null);
  }
}
