import { InvalidArgumentError } from 'commander';
import { ROUNDING_MODES, type RoundingMode } from '../core/engine/runtime/requantize';

/**
 * Option parsers and number formats the CLI commands share, so that one flag reads and one figure
 * prints the same way in every command.
 */

/** Bytes as KiB with one decimal (the papers' "kB"). */
export const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/** A ratio as a percentage with one decimal. */
export const pct = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;

/** `--rounding`: the requantization rounding of the runtime. */
export function parseRounding(value: string): RoundingMode {
  if (!(ROUNDING_MODES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${ROUNDING_MODES.join(', ')}`);
  return value as RoundingMode;
}

/** An MCU profile id as typed: catalog ids are lowercase, so `nRF52840` names `nrf52840`. */
export function parseMcuId(value: string): string {
  const id = value.trim().toLowerCase();
  if (id === '') throw new InvalidArgumentError('expected an MCU profile id');
  return id;
}

/** A comma-separated list (empty items dropped). */
export const parseList = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Comma-separated MCU profile ids, case-insensitive like `parseMcuId`. */
export const parseMcuIds = (value: string): string[] => parseList(value).map(parseMcuId);

/** A repeatable option whose values may also be comma-separated (`--tag a --tag b,c`). */
export const collect = (value: string, previous: string[]): string[] => [...previous, ...parseList(value)];

const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A point in time as typed: ISO 8601 (`2026-12-03`, `2026-12-03T10:00Z`; a date alone is UTC
 * midnight) or a duration ago (`30m`, `24h`, `7d`), as epoch ms.
 */
export function parseTime(value: string): number {
  const text = value.trim();
  const ago = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text);
  if (ago) return Date.now() - Number(ago[1]) * DURATION_UNITS_MS[ago[2]];
  const ms = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected an ISO 8601 time (2026-12-03, 2026-12-03T10:00:00Z) or a duration ago (30m, 24h, 7d)');
  return ms;
}

/** A whole number of at least 1 (`what` names it in the error). */
export function parsePositiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected ${what} (a whole number, at least 1)`);
    return n;
  };
}

/** A share as typed: `0.9`, `90` or `90%` (a number above 1 reads as percent). */
export function parseShare(value: string): number {
  const pctForm = value.endsWith('%');
  const n = Number(pctForm ? value.slice(0, -1) : value);
  const r = pctForm || n > 1 ? n / 100 : n;
  if (!Number.isFinite(r) || r < 0 || r > 1) throw new InvalidArgumentError('expected a share: 0.9, 90 or 90%');
  return r;
}

/** A duration as typed: `30s`, `10m`, `2h`, or milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 30s, 10m, 2h (or milliseconds)');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** `[######..........]`: done of total in `width` characters. */
export function progressBar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
