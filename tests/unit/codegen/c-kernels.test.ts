import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { C_FLAGS, C_RUNTIME_DIR } from '../../../src-main/core/engine/codegen/bundle';
import {
  multiplyByQuantizedMultiplier,
  multiplyByQuantizedMultiplierSingleRounding,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from '../../../src-main/core/engine/runtime/fixed-point';
import { mulberry32 } from '../../../src-main/core/engine/runtime/inputs';
import { missingTools, requireOrSkip } from '../../support/require-tools';

/**
 * The C library's fixed-point primitives against the TS runtime's, on edge cases and random values:
 * every requantization in generated code goes through these four functions.
 */

const DRIVER = `#include <stdio.h>
#include <stdlib.h>
#include "tf_kernels.h"
int main(void) {
  long a, b, s;
  while (scanf("%ld %ld %ld", &a, &b, &s) == 3) {
    printf("%ld %ld %ld %ld\\n", (long)tf_srdhm((int32_t)a, (int32_t)b), (long)tf_rdbypot((int32_t)a, (int32_t)(s < 0 ? -s : s) % 32),
           (long)tf_mbqm((int32_t)a, (int32_t)b, (int32_t)s), (long)tf_mbqm_single((int32_t)a, (int32_t)b, (int32_t)s));
  }
  return 0;
}
`;

describe.skipIf(requireOrSkip('c-kernels', missingTools('gcc')))('C fixed-point primitives', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tf-ckern-'));
    writeFileSync(path.join(dir, 'driver.c'), DRIVER);
    execFileSync('gcc', [...C_FLAGS, `-I${C_RUNTIME_DIR}`, '-o', path.join(dir, 'driver'), path.join(dir, 'driver.c'), path.join(C_RUNTIME_DIR, 'tf_kernels.c'), '-lm']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('agree with the TS runtime bit for bit', () => {
    const edges = [-2147483648, -2147483647, -1073741824, -65536, -1, 0, 1, 2, 65535, 1073741824, 2147483647];
    const mults = [0, 1, 1073741824, 1518500250, 2147483647, -2147483648];
    const rows: [number, number, number][] = [];
    for (const a of edges) for (const b of [...edges, ...mults]) for (const s of [-31, -20, -8, -1, 0, 1, 5]) rows.push([a, b, s]);
    const rnd = mulberry32(9);
    for (let i = 0; i < 20000; i++) {
      const a = (rnd() | 0) >> (rnd() % 24);
      const b = 1073741824 + (rnd() % 1073741824);
      const s = -(rnd() % 32) + (rnd() % 4 === 0 ? rnd() % 4 : 0);
      rows.push([a, b, s]);
    }
    const out = execFileSync(path.join(dir, 'driver'), { input: rows.map((r) => r.join(' ')).join('\n'), maxBuffer: 64 << 20 }).toString().trim().split('\n');
    expect(out.length).toBe(rows.length);
    const bad: string[] = [];
    rows.forEach(([a, b, s], i) => {
      // Left shifts that overflow int32 are outside what TFLite's kernels ever see (x * 2^s must fit).
      const leftOk = s <= 0 || Math.abs(a * 2 ** s) < 2 ** 31;
      const expected = [
        saturatingRoundingDoublingHighMul(a, b),
        roundingDivideByPOT(a, Math.abs(s) % 32),
        leftOk ? multiplyByQuantizedMultiplier(a, b, s) : null,
        multiplyByQuantizedMultiplierSingleRounding(a, b, s),
      ];
      const got = out[i].split(' ').map(Number);
      expected.forEach((e, k) => {
        if (e !== null && got[k] !== e) bad.push(`f${k}(${a}, ${b}, ${s}) = ${got[k]}, TS ${e}`);
      });
    });
    expect(bad.slice(0, 10)).toEqual([]);
  });
});
