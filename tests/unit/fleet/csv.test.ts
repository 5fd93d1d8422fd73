import { describe, expect, it } from 'vitest';
import { csvField, formatCsv, parseCsv, unescapeCsvText } from '../../../src-main/core/fleet';

describe('CSV', () => {
  it('parses quotes, escaped quotes, CRLF, embedded newlines and blank lines with line numbers', () => {
    const text = 'id,name\r\na,"Hello, ""world"""\r\n\r\nb,"two\nlines"\nc,plain';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['id', 'name'] },
      { line: 2, fields: ['a', 'Hello, "world"'] },
      { line: 4, fields: ['b', 'two\nlines'] },
      { line: 6, fields: ['c', 'plain'] },
    ]);
  });

  it('strips a UTF-8 BOM and keeps empty trailing fields', () => {
    expect(parseCsv('\ufeffa,,\n')).toEqual([{ line: 1, fields: ['a', '', ''] }]);
  });

  it('names the line of an unterminated quote', () => {
    expect(() => parseCsv('a,b\nc,"open\nmore')).toThrow(/line 2.*never closed/);
  });

  it('round-trips through formatCsv, guarding spreadsheet formulas', () => {
    const csv = formatCsv(['x', 'y'], [['=1+1', 'a,"b"'], [null, -3]]);
    expect(csv).toBe(`x,y\n'=1+1,"a,""b"""\n,-3\n`);
    const rows = parseCsv(csv);
    expect(unescapeCsvText(rows[1].fields[0])).toBe('=1+1');
    expect(rows[1].fields[1]).toBe('a,"b"');
    expect(csvField(true)).toBe('true');
  });
});
