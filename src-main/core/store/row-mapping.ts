import { parseJsonColumn } from './json';

/* Record <-> row mapping for repositories whose records mirror their tables column by column. */

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** A record as a row: camelCase keys to snake_case columns, the `json` keys serialized. */
export function toRow(record: object, json: ReadonlySet<string>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) row[snake(key)] = json.has(key) && value !== null ? JSON.stringify(value) : value;
  return row;
}

/** A row as a record: the inverse of {@link toRow} (BLOBs as Uint8Array). */
export function fromRow<T>(row: Record<string, unknown>, json: ReadonlySet<string>): T {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    const key = camel(column);
    out[key] = json.has(key) ? parseJsonColumn(value as string | null, null) : value instanceof Buffer ? new Uint8Array(value) : value;
  }
  return out as T;
}

/** An INSERT of every column of `row`, with named parameters. */
export function insertSql(table: string, row: Record<string, unknown>): string {
  const columns = Object.keys(row);
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`;
}

/** An UPDATE of every column of `row` but `keys`, matched on `keys`. */
export function updateSql(table: string, row: Record<string, unknown>, keys: readonly string[]): string {
  const set = Object.keys(row).filter((c) => !keys.includes(c));
  return `UPDATE ${table} SET ${set.map((c) => `${c} = @${c}`).join(', ')} WHERE ${keys.map((k) => `${k} = @${k}`).join(' AND ')}`;
}

