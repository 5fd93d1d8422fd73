import { describe, expect, it } from 'vitest';
import { parseCommandParams } from '../../../src-renderer/features/device/command-params';
import { splitList } from '../../../src-renderer/lib/text';

describe('command params', () => {
  it('reads a JSON object, and empty text as no params', () => {
    expect(parseCommandParams('')).toEqual({});
    expect(parseCommandParams(' {"ms": 500} ')).toEqual({ ms: 500 });
  });

  it('says what is wrong with bad input', () => {
    expect(() => parseCommandParams('{ms: 5')).toThrow(/not valid JSON/);
    expect(() => parseCommandParams('[1]')).toThrow(/must be a JSON object/);
    expect(() => parseCommandParams('null')).toThrow(/must be a JSON object/);
  });
});

describe('list input', () => {
  it('splits on commas and spaces and drops duplicates', () => {
    expect(splitList(' lab, roof  lab,,field ')).toEqual(['lab', 'roof', 'field']);
    expect(splitList('')).toEqual([]);
  });
});
