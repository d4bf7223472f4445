/**
 * IP addresses as bytes, so that a destination is judged by what it is, never by how it was
 * spelled: `127.1`, `2130706433`, `0x7f000001` and `[::ffff:7f00:1]` are all one loopback address.
 */
export type IpAddress =
  | { readonly family: 4; readonly bytes: Uint8Array }
  | { readonly family: 6; readonly bytes: Uint8Array };

/** A network: the address with every bit past `prefixLength` cleared. */
export interface Cidr {
  readonly network: IpAddress;
  readonly prefixLength: number;
}

/**
 * Parses an IPv4 address in every spelling the WHATWG URL host parser and `inet_aton` accept
 * (one to four parts, each decimal, `0`-prefixed octal or `0x`-prefixed hex, the last part
 * filling the remaining bytes), or an IPv6 address with or without brackets. Zone ids
 * (`fe80::1%eth0`) are refused: a zone picks an interface, which a webhook URL has no say in.
 * Returns null for anything else, hostnames included.
 */
export function parseIpAddress(text: string): IpAddress | null {
  if (text.startsWith("[")) return text.endsWith("]") ? parseIpv6(text.slice(1, -1)) : null;
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

/** Dotted quad for IPv4; RFC 5952 for IPv6, with the IPv4 of a mapped address written dotted. */
export function formatIpAddress(ip: IpAddress): string {
  if (ip.family === 4) return Array.from(ip.bytes).join(".");
  if (isIpv4Mapped(ip)) return `::ffff:${Array.from(ip.bytes.subarray(12)).join(".")}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((ip.bytes[2 * i] ?? 0) << 8) | (ip.bytes[2 * i + 1] ?? 0));
  const run = longestZeroRun(groups);
  const hex = (part: number[]) => part.map((group) => group.toString(16)).join(":");
  if (run === null) return hex(groups);
  return `${hex(groups.slice(0, run.start))}::${hex(groups.slice(run.start + run.length))}`;
}

/**
 * Parses `address/prefix`, or a bare address as a single-host network. IPv4 must be a plain
 * dotted quad here: the short forms would turn an operator's `10/8` into `0.0.0.10/8`. Host bits
 * past the prefix are cleared, as `ip route` and Go's `net.ParseCIDR` do.
 */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const address = parseIpAddress(addressText);
  if (address === null) return null;
  if (address.family === 4 && !dottedQuad.test(addressText)) return null;
  const maxLength = address.bytes.length * 8;
  let prefixLength = maxLength;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return null;
    prefixLength = Number(prefixText);
    if (prefixLength > maxLength) return null;
  }
  const bytes = address.bytes.map((byte, i) => byte & maskByte(prefixLength, i));
  return { network: { family: address.family, bytes }, prefixLength };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpAddress(cidr.network)}/${cidr.prefixLength}`;
}

/** Whether `ip` lies in `cidr`; an IPv4 address is never inside an IPv6 network, nor the reverse. */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.network.family !== ip.family) return false;
  return cidr.network.bytes.every((byte, i) => ((ip.bytes[i] ?? 0) & maskByte(cidr.prefixLength, i)) === byte);
}

/** `::ffff:a.b.c.d`: an IPv4 address in IPv6 clothing, which a dual-stack socket dials over IPv4. */
export function isIpv4Mapped(ip: IpAddress): boolean {
  return ip.family === 6 && ip.bytes.subarray(0, 10).every((byte) => byte === 0) && ip.bytes[10] === 0xff && ip.bytes[11] === 0xff;
}

/** Four bytes of an IPv6 address, from `offset`, as an IPv4 address. */
export function embeddedIpv4(ip: IpAddress, offset: number): IpAddress {
  return { family: 4, bytes: ip.bytes.slice(offset, offset + 4) };
}

const dottedQuad = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

function maskByte(prefixLength: number, index: number): number {
  const bits = Math.min(8, Math.max(0, prefixLength - index * 8));
  return (0xff << (8 - bits)) & 0xff;
}

/** The WHATWG IPv4 parser: the last part may be as wide as the bytes it has left to fill. */
function parseIpv4(text: string): IpAddress | null {
  const parts = text.split(".");
  // `127.0.0.1.` is the same host as `127.0.0.1` to the URL parser.
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    const value = parseIpv4Number(part);
    if (value === null) return null;
    numbers.push(value);
  }
  const last = numbers.pop();
  if (last === undefined || numbers.some((value) => value > 255)) return null;
  if (last >= 256 ** (4 - numbers.length)) return null;
  const value = numbers.reduce((sum, part, i) => sum + part * 256 ** (3 - i), last);
  return { family: 4, bytes: Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff) };
}

const ipv4Number = /^(?:0[xX]([0-9a-fA-F]*)|0([0-7]*)|([1-9][0-9]*))$/;

/** `0x` alone is 0 and `0` is octal, as in the URL standard; a huge part is simply out of range. */
function parseIpv4Number(part: string): number | null {
  const match = ipv4Number.exec(part);
  if (match === null) return null;
  const [, hex, octal, decimal] = match;
  if (hex !== undefined) return hex === "" ? 0 : Number.parseInt(hex, 16);
  if (octal !== undefined) return octal === "" ? 0 : Number.parseInt(octal, 8);
  return Number(decimal);
}

function parseIpv6(text: string): IpAddress | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const compressed = halves.length === 2;
  const headText = halves[0] ?? "";
  const tailText = halves[1] ?? "";
  // Only the very last piece of the address may be a dotted IPv4.
  const head = parseGroups(headText, !compressed);
  const tail = compressed ? parseGroups(tailText, true) : [];
  if (head === null || tail === null) return null;
  const written = head.length + tail.length;
  // "::" stands for at least one zero group, as in the URL standard and inet_pton.
  if (compressed ? written > 7 : written !== 8) return null;
  const groups = [...head, ...new Array<number>(8 - written).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return { family: 6, bytes };
}

function parseGroups(text: string, mayEndInIpv4: boolean): number[] | null {
  if (text === "") return [];
  const pieces = text.split(":");
  const groups: number[] = [];
  for (const [i, piece] of pieces.entries()) {
    if (mayEndInIpv4 && i === pieces.length - 1 && dottedQuad.test(piece)) {
      const ipv4 = parseIpv4(piece);
      if (ipv4 === null) return null;
      const [a = 0, b = 0, c = 0, d = 0] = ipv4.bytes;
      groups.push((a << 8) | b, (c << 8) | d);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
      groups.push(Number.parseInt(piece, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** RFC 5952: the longest run of two or more zero groups, the first one on a tie. */
function longestZeroRun(groups: readonly number[]): { start: number; length: number } | null {
  let best: { start: number; length: number } | null = null;
  let start = -1;
  for (let i = 0; i <= groups.length; i++) {
    if (i < groups.length && groups[i] === 0) {
      if (start === -1) start = i;
      continue;
    }
    if (start !== -1 && i - start >= 2 && (best === null || i - start > best.length)) best = { start, length: i - start };
    start = -1;
  }
  return best;
}
