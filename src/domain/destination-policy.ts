import {
  cidrContains,
  embeddedIpv4,
  formatIpAddress,
  isIpv4Mapped,
  parseCidr,
  type Cidr,
  type IpAddress,
} from "./ip-address.ts";

/**
 * Where webhooks may be sent. Webhook URLs are written by customers, so by default nothing but
 * the public internet is reachable: no loopback, no private network, no cloud metadata service.
 */
export interface DestinationPolicy {
  /** Allows every address, private ones included. For development only. */
  readonly allowPrivateNetworks: boolean;
  /** Networks allowed even though a denied range covers them (an operator's trusted receivers). */
  readonly allowedCidrs: readonly Cidr[];
}

export const closedPolicy: DestinationPolicy = Object.freeze({ allowPrivateNetworks: false, allowedCidrs: Object.freeze([]) });

export type DestinationCheck = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/**
 * Ranges that are not the public internet (IANA special-purpose registries, plus multicast and
 * the deprecated IPv6 site-local and IPv4-compatible forms). An address in several is reported
 * with the narrowest one.
 */
export const deniedRanges: readonly { readonly cidr: string; readonly name: string }[] = [
  { cidr: "0.0.0.0/8", name: "this network" },
  { cidr: "10.0.0.0/8", name: "private-use" },
  { cidr: "100.64.0.0/10", name: "shared address space" },
  { cidr: "127.0.0.0/8", name: "loopback" },
  { cidr: "169.254.0.0/16", name: "link-local, cloud metadata" },
  { cidr: "172.16.0.0/12", name: "private-use" },
  { cidr: "192.0.0.0/24", name: "IETF protocol assignments" },
  { cidr: "192.0.2.0/24", name: "documentation" },
  { cidr: "192.88.99.0/24", name: "6to4 relay anycast" },
  { cidr: "192.168.0.0/16", name: "private-use" },
  { cidr: "198.18.0.0/15", name: "benchmarking" },
  { cidr: "198.51.100.0/24", name: "documentation" },
  { cidr: "203.0.113.0/24", name: "documentation" },
  { cidr: "224.0.0.0/4", name: "multicast" },
  { cidr: "240.0.0.0/4", name: "reserved, broadcast" },
  { cidr: "::/128", name: "unspecified" },
  { cidr: "::1/128", name: "loopback" },
  { cidr: "::/96", name: "IPv4-compatible" },
  // Never matched as such: a mapped address is judged by the IPv4 address it carries.
  { cidr: "::ffff:0:0/96", name: "IPv4-mapped" },
  { cidr: "64:ff9b::/96", name: "NAT64" },
  { cidr: "64:ff9b:1::/48", name: "local-use NAT64" },
  { cidr: "100::/64", name: "discard-only" },
  { cidr: "2001::/32", name: "Teredo" },
  { cidr: "2001:db8::/32", name: "documentation" },
  { cidr: "2002::/16", name: "6to4" },
  { cidr: "3fff::/20", name: "documentation" },
  { cidr: "5f00::/16", name: "segment routing" },
  { cidr: "fc00::/7", name: "unique local" },
  { cidr: "fe80::/10", name: "link-local" },
  { cidr: "fec0::/10", name: "site-local" },
  { cidr: "ff00::/8", name: "multicast" },
];

interface ParsedRange {
  readonly cidr: Cidr;
  readonly text: string;
  readonly name: string;
}

/** For the constant tables below: a typo in them is a programming error, caught at load. */
function knownCidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (parsed === null) throw new Error(`unparseable CIDR constant ${text}`);
  return parsed;
}

const parsedRanges: readonly ParsedRange[] = deniedRanges.map(({ cidr, name }) => ({ cidr: knownCidr(cidr), text: cidr, name }));

/** Where an IPv6 range carries an IPv4 address, named in the reason so an operator sees the target. */
const ipv4Carriers: readonly { readonly cidr: Cidr; readonly offset: number }[] = [
  { cidr: knownCidr("2002::/16"), offset: 2 },
  { cidr: knownCidr("64:ff9b::/96"), offset: 12 },
];

const allowed: DestinationCheck = Object.freeze({ allowed: true });

/**
 * Decides whether `ip` may be connected to. Judged by bytes only, so every spelling of an
 * address gets one answer. The reason names the address and the range, e.g.
 * `127.0.0.1 is in 127.0.0.0/8 (loopback)`.
 */
export function checkDestination(ip: IpAddress, policy: DestinationPolicy): DestinationCheck {
  if (policy.allowPrivateNetworks) return allowed;
  const mapped = isIpv4Mapped(ip) ? embeddedIpv4(ip, 12) : null;
  const isAllowed = (address: IpAddress) => policy.allowedCidrs.some((cidr) => cidrContains(cidr, address));
  if (isAllowed(ip) || (mapped !== null && isAllowed(mapped))) return allowed;
  if (mapped !== null) {
    const range = narrowestDeniedRange(mapped);
    if (range === null) return allowed;
    return { allowed: false, reason: `${formatIpAddress(ip)} is IPv4-mapped ${formatIpAddress(mapped)}, which is in ${describe(range)}` };
  }
  const range = narrowestDeniedRange(ip);
  if (range === null) return allowed;
  return { allowed: false, reason: `${formatIpAddress(ip)} is in ${describe(range)}${embeddedDetail(ip)}` };
}

function narrowestDeniedRange(ip: IpAddress): ParsedRange | null {
  let best: ParsedRange | null = null;
  for (const range of parsedRanges) {
    if (cidrContains(range.cidr, ip) && (best === null || range.cidr.prefixLength > best.cidr.prefixLength)) best = range;
  }
  return best;
}

function describe(range: ParsedRange): string {
  return `${range.text} (${range.name})`;
}

function embeddedDetail(ip: IpAddress): string {
  const carrier = ipv4Carriers.find(({ cidr }) => cidrContains(cidr, ip));
  if (carrier === undefined) return "";
  const inner = embeddedIpv4(ip, carrier.offset);
  const range = narrowestDeniedRange(inner);
  return `, carrying ${formatIpAddress(inner)}${range === null ? "" : ` in ${describe(range)}`}`;
}
