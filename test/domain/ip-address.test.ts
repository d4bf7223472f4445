import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cidrContains, formatCidr, formatIpAddress, parseCidr, parseIpAddress, type Cidr, type IpAddress } from "../../src/domain/ip-address.ts";

const v4 = (...bytes: number[]): IpAddress => ({ family: 4, bytes: Uint8Array.from(bytes) });

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

const ipv4Bytes = fc.uint8Array({ minLength: 4, maxLength: 4 });
const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });

/** One IPv4 number in a random radix, the way the URL standard reads it. */
const spelledNumber = (value: number) =>
  fc.constantFrom("decimal", "octal", "hex", "HEX").map((radix) => {
    if (radix === "decimal") return String(value);
    if (radix === "octal") return `0${value.toString(8)}`;
    return `${radix === "hex" ? "0x" : "0X"}${radix === "hex" ? value.toString(16) : value.toString(16).toUpperCase()}`;
  });

/** Any of the one- to four-part spellings of an address, each part in its own radix. */
const spellingOf = (bytes: Uint8Array) =>
  fc.integer({ min: 1, max: 4 }).chain((parts) => {
    const leading = Array.from(bytes.subarray(0, parts - 1));
    const rest = bytes.subarray(parts - 1).reduce((value, byte) => value * 256 + byte, 0);
    return fc.tuple(...[...leading, rest].map(spelledNumber)).map((numbers) => numbers.join("."));
  });

describe("parseIpAddress", () => {
  it.each(["127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0X7F000001", "017700000001", "0x7f.1", "0177.0.0.1", "0x7f.0.0.0x1", "127.0.0.1."])(
    "reads %s as 127.0.0.1",
    (text) => {
      expect(parsed(text)).toEqual(v4(127, 0, 0, 1));
    },
  );

  it.each([
    ["0", v4(0, 0, 0, 0)],
    ["0x", v4(0, 0, 0, 0)],
    ["10.1", v4(10, 0, 0, 1)],
    ["0xa9fea9fe", v4(169, 254, 169, 254)],
    ["169.254.43518", v4(169, 254, 169, 254)],
    ["0251.0376.0251.0376", v4(169, 254, 169, 254)],
    ["4294967295", v4(255, 255, 255, 255)],
  ])("reads the IPv4 spelling %s", (text, expected) => {
    expect(parsed(text)).toEqual(expected);
  });

  it.each(["", ".", "256.0.0.1", "1.2.3.4.5", "08", "0x7g", "1..2", "4294967296", "1.16777216", "1.2.65536", "-1", "127.0.0.1 ", " 127.0.0.1", "example.com", "1.2.3.example", "[127.0.0.1]"])(
    "refuses %j as an IP address",
    (text) => {
      expect(parseIpAddress(text)).toBeNull();
    },
  );

  it.each([
    ["::1", "::1"],
    ["[::1]", "::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::", "::"],
    ["[::ffff:7f00:1]", "::ffff:127.0.0.1"],
    ["::ffff:127.0.0.1", "::ffff:127.0.0.1"],
    ["::FFFF:7F00:1", "::ffff:127.0.0.1"],
    ["[::7f00:1]", "::7f00:1"],
    ["::127.0.0.1", "::7f00:1"],
    ["64:ff9b::7f00:1", "64:ff9b::7f00:1"],
    ["64:ff9b::10.0.0.1", "64:ff9b::a00:1"],
    ["2606:4700:0000:0000:0000:0000:0000:1111", "2606:4700::1111"],
    ["1::2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
  ])("reads the IPv6 spelling %s as %s", (text, canonical) => {
    expect(formatIpAddress(parsed(text))).toBe(canonical);
  });

  it.each([
    "fe80::1%eth0",
    "[fe80::1%25eth0]",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4::5:6:7:8",
    "1:2:3:4:5:6:7",
    "12345::",
    "::g",
    ":1::",
    "1::2:",
    "::1.2.3",
    "::1.2.3.04",
    "::256.0.0.1",
    "1.2.3.4::",
    "[::1",
    "::1]",
  ])("refuses %j as an IP address", (text) => {
    expect(parseIpAddress(text)).toBeNull();
  });

  it("reads every IPv4 spelling the URL parser accepts as the address the URL parser sees", () => {
    fc.assert(
      fc.property(ipv4Bytes.chain((bytes) => fc.tuple(fc.constant(bytes), spellingOf(bytes))), ([bytes, spelling]) => {
        expect(parsed(spelling).bytes).toEqual(bytes);
        expect(new URL(`http://${spelling}/`).hostname).toBe(Array.from(bytes).join("."));
      }),
    );
  });
});

describe("formatIpAddress", () => {
  it.each([
    ["2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:DB8::AB", "2001:db8::ab"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["0:0:0:0:0:0:0:0", "::"],
  ])("writes %s as RFC 5952's %s", (text, canonical) => {
    expect(formatIpAddress(parsed(text))).toBe(canonical);
  });

  it("writes IPv4 as a dotted quad", () => {
    expect(formatIpAddress(v4(192, 0, 2, 1))).toBe("192.0.2.1");
  });

  it("reads back every IPv4 address it writes", () => {
    fc.assert(
      fc.property(ipv4Bytes, (bytes) => {
        expect(parsed(formatIpAddress({ family: 4, bytes }))).toEqual({ family: 4, bytes });
      }),
    );
  });

  it("reads back every IPv6 address it writes, IPv4-mapped ones included", () => {
    const mapped = ipv4Bytes.map((bytes) => Uint8Array.from([...new Array<number>(10).fill(0), 0xff, 0xff, ...bytes]));
    fc.assert(
      fc.property(fc.oneof(ipv6Bytes, mapped), (bytes) => {
        expect(parsed(formatIpAddress({ family: 6, bytes }))).toEqual({ family: 6, bytes });
      }),
    );
  });
});

describe("parseCidr", () => {
  it.each([
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["127.0.0.2/32", "127.0.0.2/32"],
    ["127.0.0.2", "127.0.0.2/32"],
    ["fd00::/8", "fd00::/8"],
    ["::1", "::1/128"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["192.168.1.10/24", "192.168.1.0/24"],
    ["fe80::1/10", "fe80::/10"],
  ])("reads %s as %s", (text, canonical) => {
    expect(formatCidr(cidr(text))).toBe(canonical);
  });

  it.each(["10/8", "127.1/32", "2130706433/32", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/8/8", "fe80::1%eth0/64", "example.com/8", ""])(
    "refuses %j",
    (text) => {
      expect(parseCidr(text)).toBeNull();
    },
  );
});

describe("cidrContains", () => {
  it("contains the first and last address of the network and nothing either side", () => {
    const network = cidr("172.16.0.0/12");
    expect(cidrContains(network, parsed("172.16.0.0"))).toBe(true);
    expect(cidrContains(network, parsed("172.31.255.255"))).toBe(true);
    expect(cidrContains(network, parsed("172.15.255.255"))).toBe(false);
    expect(cidrContains(network, parsed("172.32.0.0"))).toBe(false);
  });

  it("never matches across families", () => {
    expect(cidrContains(cidr("0.0.0.0/0"), parsed("::1"))).toBe(false);
    expect(cidrContains(cidr("::/0"), parsed("127.0.0.1"))).toBe(false);
    expect(cidrContains(cidr("::ffff:0:0/96"), parsed("127.0.0.1"))).toBe(false);
  });

  it("contains an address in its own single-host network and in every shorter prefix of it", () => {
    fc.assert(
      fc.property(fc.oneof(ipv4Bytes, ipv6Bytes), fc.integer({ min: 0, max: 128 }), (bytes, length) => {
        const ip: IpAddress = bytes.length === 4 ? { family: 4, bytes } : { family: 6, bytes };
        const prefixLength = Math.min(length, bytes.length * 8);
        expect(cidrContains(cidr(formatIpAddress(ip)), ip)).toBe(true);
        expect(cidrContains(cidr(`${formatIpAddress(ip)}/${prefixLength}`), ip)).toBe(true);
      }),
    );
  });
});
