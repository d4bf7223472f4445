import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkDestination, closedPolicy, deniedRanges, type DestinationPolicy } from "../../src/domain/destination-policy.ts";
import { cidrContains, formatIpAddress, parseCidr, parseIpAddress, type Cidr, type IpAddress } from "../../src/domain/ip-address.ts";

function parsed(text: string): IpAddress {
  const ip = parseIpAddress(text);
  if (ip === null) throw new Error(`${text} did not parse`);
  return ip;
}

function cidr(text: string): Cidr {
  const result = parseCidr(text);
  if (result === null) throw new Error(`${text} did not parse as a CIDR`);
  return result;
}

const withAllowed = (...cidrs: string[]): DestinationPolicy => ({ allowPrivateNetworks: false, allowedCidrs: cidrs.map(cidr) });
const isAllowed = (text: string, policy: DestinationPolicy = closedPolicy) => checkDestination(parsed(text), policy).allowed;

function reasonFor(text: string, policy: DestinationPolicy = closedPolicy): string {
  const verdict = checkDestination(parsed(text), policy);
  if (verdict.allowed) throw new Error(`${text} was allowed`);
  return verdict.reason;
}

/** The address `fraction` of the way through a network: 0 is its first, 1 its last. */
function addressIn(network: Cidr, fraction: 0 | 0.5 | 1): IpAddress {
  const bytes = Uint8Array.from(network.network.bytes);
  const hostBits = bytes.length * 8 - network.prefixLength;
  // The middle sets only the top host bit; the last sets them all.
  const bitsToSet = fraction === 0 ? 0 : fraction === 1 ? hostBits : Math.min(1, hostBits);
  for (let bit = network.prefixLength; bit < network.prefixLength + bitsToSet; bit++) {
    bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  }
  return network.network.family === 4 ? { family: 4, bytes } : { family: 6, bytes };
}

/** Bytes inside `network`: its prefix, then random host bits. */
const addressWithin = (network: Cidr) =>
  fc.uint8Array({ minLength: network.network.bytes.length, maxLength: network.network.bytes.length }).map((random): IpAddress => {
    const bytes = random.map((byte, i) => {
      const maskBits = Math.min(8, Math.max(0, network.prefixLength - i * 8));
      const mask = (0xff << (8 - maskBits)) & 0xff;
      return ((network.network.bytes[i] ?? 0) & mask) | (byte & ~mask & 0xff);
    });
    return network.network.family === 4 ? { family: 4, bytes } : { family: 6, bytes };
  });

const mappedRange = "::ffff:0:0/96";
const ipv4Ranges = deniedRanges.filter((range) => !range.cidr.includes(":"));
const ipv6Ranges = deniedRanges.filter((range) => range.cidr.includes(":") && range.cidr !== mappedRange);

/** Random addresses, half of them drawn from inside the denied ranges so both verdicts are common. */
const ipv4Addresses = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((bytes): IpAddress => ({ family: 4, bytes })),
  fc.constantFrom(...ipv4Ranges).chain((range) => addressWithin(cidr(range.cidr))),
);
const ipv6Addresses = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes): IpAddress => ({ family: 6, bytes })),
  fc.constantFrom(...ipv6Ranges).chain((range) => addressWithin(cidr(range.cidr))),
  fc.constantFrom("2606:4700::/32", "2001:4860::/32", "2a00:1450::/32").chain((prefix) => addressWithin(cidr(prefix))),
);

const toUint32 = (ip: IpAddress) => ip.bytes.reduce((value, byte) => value * 256 + byte, 0);
const fullIpv6 = (ip: IpAddress) =>
  Array.from({ length: 8 }, (_, i) => (((ip.bytes[2 * i] ?? 0) << 8) | (ip.bytes[2 * i + 1] ?? 0)).toString(16).padStart(4, "0")).join(":");

describe("deniedRanges", () => {
  it("lists exactly the special-purpose ranges the guard blocks, each a parseable CIDR", () => {
    expect(deniedRanges.map((range) => range.cidr)).toEqual([
      "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
      "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
      "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "::/96", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48",
      "100::/64", "2001::/32", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
      "fec0::/10", "ff00::/8",
    ]);
    for (const range of deniedRanges) expect(parseCidr(range.cidr), range.cidr).not.toBeNull();
  });
});

describe("checkDestination with the closed policy", () => {
  const edges = [0, 0.5, 1] as const;
  const cases = [...ipv4Ranges, ...ipv6Ranges].flatMap((range) =>
    edges.map((fraction) => [formatIpAddress(addressIn(cidr(range.cidr), fraction)), range.cidr] as const),
  );

  it.each(cases)("denies %s, in %s, naming the address and a range holding it", (address, range) => {
    const reason = reasonFor(address);
    expect(reason.startsWith(`${address} is in `)).toBe(true);
    const named = /is in (\S+) \(/.exec(reason)?.[1] ?? "";
    expect(cidrContains(cidr(named), parsed(address))).toBe(true);
    // The narrowest range is named, so it is this one or one inside it.
    expect(cidr(named).prefixLength).toBeGreaterThanOrEqual(cidr(range).prefixLength);
  });

  it.each([
    "127.1",
    "2130706433",
    "0x7f000001",
    "017700000001",
    "0x7f.1",
    "0177.0.0.1",
    "127.0.0.1.",
    "0",
    "10.1",
    "167772161",
    "0xa9fea9fe",
    "169.254.43518",
    "0251.0376.0251.0376",
    "[::1]",
    "0:0:0:0:0:0:0:1",
    "[::ffff:7f00:1]",
    "::ffff:127.0.0.1",
    "::ffff:a9fe:a9fe",
    "[::7f00:1]",
    "::127.0.0.1",
    "64:ff9b::a00:1",
    "64:ff9b::10.0.0.1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001::7f00:1",
    "[fe80::1]",
    "fd00::1",
    "ff02::1",
  ])("denies the literal spelling %s", (text) => {
    expect(isAllowed(text)).toBe(false);
  });

  it.each(["8.8.8.8", "1.1.1.1", "93.184.216.34", "134744072", "0x08080808", "2606:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::1", "::ffff:8.8.8.8"])(
    "allows the public address %s",
    (text) => {
      expect(isAllowed(text)).toBe(true);
    },
  );

  it.each(["9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0", "172.15.255.255", "172.32.0.0", "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255"])(
    "allows %s, just outside a denied range",
    (text) => {
      expect(isAllowed(text)).toBe(true);
    },
  );

  it("names the address and the range in the reason", () => {
    expect(reasonFor("127.0.0.1")).toBe("127.0.0.1 is in 127.0.0.0/8 (loopback)");
    expect(reasonFor("0xa9fea9fe")).toBe("169.254.169.254 is in 169.254.0.0/16 (link-local, cloud metadata)");
    expect(reasonFor("::1")).toBe("::1 is in ::1/128 (loopback)");
    expect(reasonFor("::7f00:1")).toBe("::7f00:1 is in ::/96 (IPv4-compatible)");
  });

  it("judges an IPv4-mapped address by the IPv4 address it carries", () => {
    expect(reasonFor("[::ffff:7f00:1]")).toBe("::ffff:127.0.0.1 is IPv4-mapped 127.0.0.1, which is in 127.0.0.0/8 (loopback)");
    for (const range of ipv4Ranges) {
      for (const fraction of [0, 0.5, 1] as const) {
        const inner = formatIpAddress(addressIn(cidr(range.cidr), fraction));
        expect(isAllowed(`::ffff:${inner}`), inner).toBe(false);
      }
    }
    expect(isAllowed("::ffff:1.1.1.1")).toBe(true);
  });

  it("names the IPv4 address a 6to4 or NAT64 address carries", () => {
    expect(reasonFor("2002:7f00:1::")).toBe("2002:7f00:1:: is in 2002::/16 (6to4), carrying 127.0.0.1 in 127.0.0.0/8 (loopback)");
    expect(reasonFor("64:ff9b::a00:1")).toBe("64:ff9b::a00:1 is in 64:ff9b::/96 (NAT64), carrying 10.0.0.1 in 10.0.0.0/8 (private-use)");
    expect(reasonFor("2002:808:808::")).toBe("2002:808:808:: is in 2002::/16 (6to4), carrying 8.8.8.8");
  });
});

describe("checkDestination with opt-outs", () => {
  it("allows an address inside an allowed CIDR and nothing else it would deny", () => {
    const policy = withAllowed("127.0.0.2/32", "fd00::/8");
    expect(isAllowed("127.0.0.2", policy)).toBe(true);
    expect(isAllowed("fd12::1", policy)).toBe(true);
    expect(isAllowed("127.0.0.1", policy)).toBe(false);
    expect(isAllowed("fc00::1", policy)).toBe(false);
    expect(isAllowed("10.0.0.1", policy)).toBe(false);
  });

  it("matches an allowed IPv4 CIDR against the IPv4 inside an IPv4-mapped address", () => {
    const policy = withAllowed("127.0.0.2/32");
    expect(isAllowed("::ffff:127.0.0.2", policy)).toBe(true);
    expect(isAllowed("::ffff:127.0.0.1", policy)).toBe(false);
  });

  it("does not let an allowed IPv4 CIDR open the 6to4 or NAT64 forms of its addresses", () => {
    const policy = withAllowed("127.0.0.2/32");
    expect(isAllowed("2002:7f00:2::", policy)).toBe(false);
    expect(isAllowed("64:ff9b::7f00:2", policy)).toBe(false);
  });

  it("allows every address when private networks are allowed", () => {
    const open: DestinationPolicy = { allowPrivateNetworks: true, allowedCidrs: [] };
    fc.assert(
      fc.property(fc.oneof(ipv4Addresses, ipv6Addresses), (ip) => {
        expect(checkDestination(ip, open)).toEqual({ allowed: true });
      }),
    );
  });

  it("allows any address whose own single-host CIDR is allowed", () => {
    fc.assert(
      fc.property(fc.oneof(ipv4Addresses, ipv6Addresses), (ip) => {
        expect(checkDestination(ip, withAllowed(formatIpAddress(ip))).allowed).toBe(true);
      }),
    );
  });

  it("keeps the closed policy closed and frozen", () => {
    expect(closedPolicy).toEqual({ allowPrivateNetworks: false, allowedCidrs: [] });
    expect(Object.isFrozen(closedPolicy)).toBe(true);
    expect(Object.isFrozen(closedPolicy.allowedCidrs)).toBe(true);
  });
});

describe("checkDestination judges the address, not its spelling", () => {
  it("gives an IPv4 address the same verdict in dotted, decimal, hex, octal and IPv4-mapped spellings", () => {
    fc.assert(
      fc.property(ipv4Addresses, (ip) => {
        const dotted = formatIpAddress(ip);
        const value = toUint32(ip);
        const high = ((ip.bytes[0] ?? 0) << 8) | (ip.bytes[1] ?? 0);
        const low = ((ip.bytes[2] ?? 0) << 8) | (ip.bytes[3] ?? 0);
        const expected = checkDestination(ip, closedPolicy).allowed;
        for (const spelling of [dotted, String(value), `0x${value.toString(16)}`, `0${value.toString(8)}`]) {
          expect(parsed(spelling).bytes, spelling).toEqual(ip.bytes);
          expect(isAllowed(spelling), spelling).toBe(expected);
        }
        for (const spelling of [`::ffff:${dotted}`, `[::ffff:${high.toString(16)}:${low.toString(16)}]`, `0:0:0:0:0:ffff:${dotted}`]) {
          expect(isAllowed(spelling), spelling).toBe(expected);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("gives an IPv6 address the same verdict in full, compressed, upper-case and bracketed spellings", () => {
    fc.assert(
      fc.property(ipv6Addresses, (ip) => {
        const expected = checkDestination(ip, closedPolicy).allowed;
        const compressed = formatIpAddress(ip);
        for (const spelling of [fullIpv6(ip), fullIpv6(ip).toUpperCase(), compressed, `[${compressed}]`]) {
          expect(parsed(spelling).bytes, spelling).toEqual(ip.bytes);
          expect(isAllowed(spelling), spelling).toBe(expected);
        }
      }),
      { numRuns: 500 },
    );
  });
});
