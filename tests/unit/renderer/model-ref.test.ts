import { describe, expect, it } from 'vitest';
import { modelRefLabel, parseModelRef } from '../../../src-renderer/features/models/model-ref';

describe('model references', () => {
  const names = new Map([['c11f9c84-98d7', 'vww']]);

  it('splits modelId@version and refuses what is not one', () => {
    expect(parseModelRef('c11f9c84-98d7@12')).toEqual({ modelId: 'c11f9c84-98d7', version: 12 });
    expect(parseModelRef('a@b@3')).toEqual({ modelId: 'a@b', version: 3 });
    for (const bad of ['vww', '@3', 'vww@', 'vww@0', 'vww@1.5', 'vww@x']) expect(parseModelRef(bad)).toBeNull();
  });

  it('names a known model by its registry name and leaves others as reported', () => {
    expect(modelRefLabel('c11f9c84-98d7@2', names)).toBe('vww v2');
    expect(modelRefLabel('other@2', names)).toBe('other@2');
    expect(modelRefLabel('firmware-default', names)).toBe('firmware-default');
    expect(modelRefLabel(null, names)).toBe('empty');
  });
});
