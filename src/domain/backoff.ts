/**
 * The retry schedule. The exact schedule (`retryDelayMs`) is kept apart from jitter
 * (`applyJitter`) so it can be tested exactly; randomness arrives as a number in [0, 1).
 */

export interface BackoffPolicy {
  /** Total attempts, the first (immediate) one included. */
  readonly maxAttempts: number;
  /** Delay after attempt 1, in ms. */
  readonly baseDelayMs: number;
  /** Cap on any delay, jitter and Retry-After included, in ms. */
  readonly maxDelayMs: number;
  /** Fraction in [0, 1]: delays are scaled by a factor in [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
}

/**
 * Exact delay in ms between attempt `attemptsMade` (1-based) and the next one:
 * `min(base · 2^(attemptsMade-1), max)`. Safe for any attempt number: `2 ** n` becoming
 * Infinity still compares above the cap.
 */
export function retryDelayMs(policy: BackoffPolicy, attemptsMade: number): number {
  const base = Math.max(0, policy.baseDelayMs);
  const max = Math.max(0, policy.maxDelayMs);
  // 0 · Infinity would be NaN, so a zero base is answered before it is multiplied.
  if (base === 0) return 0;
  const exponent = Math.max(0, Math.floor(attemptsMade) - 1);
  const delay = base * 2 ** exponent;
  return delay < max ? delay : max;
}

/**
 * Scales `delayMs` by a factor uniform in [1 - jitter, 1 + jitter] (`random` in [0, 1) picks
 * it), then clamps to [0, maxDelayMs]. Spreading retries keeps receivers that failed together
 * from being hit again all at the same instant.
 */
export function applyJitter(delayMs: number, policy: BackoffPolicy, random: number): number {
  const jitter = clamp(policy.jitter, 0, 1);
  const low = delayMs * (1 - jitter);
  const high = delayMs * (1 + jitter);
  // Interpolating and clamping back into [low, high] keeps float rounding from leaking outside.
  const jittered = clamp(low + (high - low) * clamp(random, 0, 1), low, high);
  return clamp(jittered, 0, Math.max(0, policy.maxDelayMs));
}

/**
 * When the next attempt is due: the jittered backoff, pushed later to honour a receiver's
 * Retry-After, and never later than `maxDelayMs` after `now` (a receiver asking for a week
 * must not park a delivery beyond the policy).
 */
export function nextAttemptAt(params: {
  policy: BackoffPolicy;
  attemptsMade: number;
  now: Date;
  random: number;
  retryAfterMs: number | null;
}): Date {
  const { policy, attemptsMade, now, random, retryAfterMs } = params;
  let delay = applyJitter(retryDelayMs(policy, attemptsMade), policy, random);
  if (retryAfterMs !== null && retryAfterMs > delay) delay = retryAfterMs;
  delay = clamp(delay, 0, Math.max(0, policy.maxDelayMs));
  return new Date(now.getTime() + delay);
}

function clamp(value: number, min: number, max: number): number {
  if (Number.isNaN(value)) return min;
  return Math.min(max, Math.max(min, value));
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept.
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC_850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * A `Retry-After` value (delta-seconds or an HTTP-date) as ms from `now`. Dates in the past
 * give 0; anything unparseable gives null, and the normal backoff applies.
 */
export function parseRetryAfterMs(value: string, now: Date): number | null {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = parseHttpDate(text, now);
  if (at === null) return null;
  return Math.max(0, at - now.getTime());
}

function parseHttpDate(text: string, now: Date): number | null {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = RFC_850.exec(text);
  if (m) {
    // RFC 9110: a two-digit year more than 50 years in the future means the past century.
    let year = Math.floor(now.getUTCFullYear() / 100) * 100 + Number(m[3]);
    if (year > now.getUTCFullYear() + 50) year -= 100;
    return utc(year, m[2], Number(m[1]), m[4], m[5], m[6]);
  }
  m = ASCTIME.exec(text);
  if (m) return utc(Number(m[6]), m[1], Number(m[2]?.trim()), m[3], m[4], m[5]);
  return null;
}

function utc(
  year: number,
  monthName: string | undefined,
  day: number,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): number | null {
  const month = MONTHS.indexOf(monthName ?? "");
  const [h, min, s] = [Number(hour), Number(minute), Number(second)];
  // 60 is a leap second; Date cannot represent it, so it rolls into the next minute.
  if (month < 0 || h > 23 || min > 59 || s > 60 || day < 1) return null;
  const at = Date.UTC(year, month, day, h, min, s);
  // Date.UTC rolls 31 Feb into March; a day that does not exist is garbage, not a date.
  if (new Date(Date.UTC(year, month, day)).getUTCDate() !== day) return null;
  return at;
}
