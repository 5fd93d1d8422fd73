/**
 * C99 source text for constants: integer and float arrays, identifiers, comments. Kept apart from the
 * generator so that the layout of a (possibly multi-megabyte) weight array is decided in one place.
 */

/** Numbers per line in emitted arrays: long enough to keep files compact, short enough for diffs. */
const PER_LINE = 24;

/** C element type of an emitted array. */
export type CArrayType = 'int8_t' | 'uint8_t' | 'int16_t' | 'int32_t' | 'float';

function formatValue(type: CArrayType, v: number): string {
  if (type === 'float') return floatLiteral(v);
  if (type === 'int32_t' && v === -2147483648) return '(-2147483647 - 1)';
  return String(v);
}

/** A float32 value as a C literal that reads back to the same bits (hex float when not exact in decimal). */
export function floatLiteral(v: number): string {
  const f = Math.fround(v);
  if (Number.isNaN(f)) return '(0.0f / 0.0f)';
  if (!Number.isFinite(f)) return f > 0 ? '(1.0f / 0.0f)' : '(-1.0f / 0.0f)';
  if (Object.is(f, -0)) return '-0.0f';
  // 9 significant digits always round-trip a float32.
  const s = f.toPrecision(9);
  return `${s.includes('e') || s.includes('.') ? s : `${s}.0`}f`;
}

/** `static const TYPE name[N] = {...};` for the given values. */
export function constArray(type: CArrayType, name: string, values: ArrayLike<number>): string {
  const n = values.length;
  if (n === 0) return `static const ${type} ${name}[1] = {0};\n`;
  const lines: string[] = [];
  for (let i = 0; i < n; i += PER_LINE) {
    const parts: string[] = [];
    for (let j = i; j < Math.min(n, i + PER_LINE); j++) parts.push(formatValue(type, values[j]));
    lines.push(`  ${parts.join(', ')}`);
  }
  return `static const ${type} ${name}[${n}] = {\n${lines.join(',\n')}\n};\n`;
}

/** A C comment with the text made safe (no comment terminator inside). */
export function comment(text: string): string {
  return `/* ${text.replace(/\*\//g, '* /')} */`;
}

/** A C string literal for ASCII text (non-printables escaped). */
export function stringLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 32 && c < 127) out += ch;
    else out += `\\${(c & 0xff).toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}
