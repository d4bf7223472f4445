/**
 * Byte sizes for config values: a whole number of bytes (`1048576`) or one with a unit, binary
 * (`512KiB`, `1MiB`, `1GiB`) or decimal (`500kB`, `1MB`, `1GB`). Units are case-sensitive, as
 * `mb` (millibits) would be ambiguous.
 */
const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  kB: 1000,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
};

const SIZE = /^(\d+)\s*([A-Za-z]*)$/;

/** Parses a byte size into a whole number of bytes; null for anything else. */
export function parseByteSize(text: string): number | null {
  const match = SIZE.exec(text.trim());
  if (match === null) return null;
  const unit = match[2] === "" ? "B" : match[2]!;
  const perUnit = BYTES_PER_UNIT[unit];
  if (perUnit === undefined) return null;
  const bytes = Number(match[1]) * perUnit;
  return Number.isSafeInteger(bytes) ? bytes : null;
}
