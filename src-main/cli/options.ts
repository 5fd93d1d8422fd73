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
