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
import { depthwiseConv2d } from '../../../src-main/core/engine/runtime/kernels/depthwise';
import { depthwiseInPlaceScratch, depthwisePlaneBytes } from '../../../src-main/core/engine/runtime/kernels/depthwise-in-place';
import { depthwiseParamsOf, inPlaceCases } from '../../support/depthwise-in-place-cases';
import { missingTools, requireOrSkip } from '../../support/require-tools';

/**
 * The C library's fixed-point primitives against the TS runtime's, on edge cases and random values:
 * every requantization in generated code goes through these four functions. And the C in-place
 * depthwise, with the scratch method the TS runtime chooses, against the TS out-of-place kernel.
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

/** Reads cases (geometry, method, constants, input) from stdin; prints each output and whether the bytes past the scratch survived. */
const DEPTHWISE_DRIVER = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tf_kernels.h"
static long next(void) {
  long v;
  if (scanf("%ld", &v) != 1) exit(0);
  return v;
}
int main(void) {
  for (;;) {
    tf_conv_params p;
    tf_view iv, ov;
    tf_region r;
    int32_t g[21], *bias, *mult, *shift, i, c, taps, in_bytes, out_bytes, scratch_bytes, has_bias;
    int8_t *filter, *buf, *plane;
    for (i = 0; i < 21; i++) g[i] = (int32_t)next();
    has_bias = (int32_t)next();
    c = g[2];
    taps = g[5] * g[6];
    filter = malloc((size_t)(taps * c));
    bias = malloc(sizeof(int32_t) * (size_t)c);
    mult = malloc(sizeof(int32_t) * (size_t)c);
    shift = malloc(sizeof(int32_t) * (size_t)c);
    for (i = 0; i < taps * c; i++) filter[i] = (int8_t)next();
    for (i = 0; i < c; i++) bias[i] = (int32_t)next();
    for (i = 0; i < c; i++) mult[i] = (int32_t)next();
    for (i = 0; i < c; i++) shift[i] = (int32_t)next();
    in_bytes = g[0] * g[1] * c;
    out_bytes = g[3] * g[4] * c;
    buf = malloc((size_t)(in_bytes > out_bytes ? in_bytes : out_bytes));
    for (i = 0; i < in_bytes; i++) buf[i] = (int8_t)next();
    p.kh = g[5]; p.kw = g[6]; p.stride_h = g[7]; p.stride_w = g[8]; p.dil_h = g[9]; p.dil_w = g[10];
    p.pad_top = g[11]; p.pad_left = g[12]; p.depth_multiplier = 1; p.in_offset = g[13]; p.out_offset = g[14];
    p.act_min = g[15]; p.act_max = g[16]; p.filter = filter; p.bias = has_bias ? bias : NULL; p.mult = mult;
    p.shift = shift; p.rounding = (tf_rounding)g[17]; p.folded_bias = NULL;
    iv.h = g[0]; iv.w = g[1]; iv.c = c; iv.y0 = 0; iv.x0 = 0; iv.bh = g[0]; iv.bw = g[1];
    ov.h = g[3]; ov.w = g[4]; ov.c = c; ov.y0 = 0; ov.x0 = 0; ov.bh = g[3]; ov.bw = g[4];
    r.y0 = 0; r.y1 = g[3]; r.x0 = 0; r.x1 = g[4];
    scratch_bytes = (g[20] > 0 ? g[20] : g[18]) * g[19];
    plane = malloc((size_t)scratch_bytes + 16);
    memset(plane + scratch_bytes, 0x5a, 16);
    tf_dwconv_inplace_s8(&p, buf, &iv, &ov, &r, g[18], g[19], g[20], plane);
    for (i = 0; i < 16; i++) if (plane[scratch_bytes + i] != 0x5a) break;
    printf("%d", i == 16);
    for (i = 0; i < out_bytes; i++) printf(" %d", buf[i]);
    printf("\\n");
    free(filter); free(bias); free(mult); free(shift); free(buf); free(plane);
  }
}
`;

describe.skipIf(requireOrSkip('c-kernels', missingTools('gcc')))('C in-place depthwise', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tf-cdw-'));
    writeFileSync(path.join(dir, 'driver.c'), DEPTHWISE_DRIVER);
    execFileSync('gcc', [...C_FLAGS, `-I${C_RUNTIME_DIR}`, '-o', path.join(dir, 'driver'), path.join(dir, 'driver.c'), path.join(C_RUNTIME_DIR, 'tf_kernels.c'), '-lm']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('equals the TS out-of-place kernel bit for bit, ring of rows or whole plane, both roundings, within its scratch', () => {
    const rnd = mulberry32(17);
    // The generated code runs one image per call.
    const cases = inPlaceCases(200, 23).map((g) => ({ ...g, batches: 1 }));
    const lines: string[] = [];
    const expected: { what: string; out: number[] }[] = [];
    const methods = { ring: 0, plane: 0 };
    for (const g of cases) {
      for (const singleRounding of [false, true]) {
        const p = depthwiseParamsOf(g, rnd, singleRounding);
        const input = Int8Array.from({ length: g.inH * g.inW * g.channels }, () => (rnd() & 255) - 128);
        const out = new Int8Array(p.outH * p.outW * g.channels);
        depthwiseConv2d(input, out, p);
        const method = depthwiseInPlaceScratch(p);
        expect(depthwisePlaneBytes(p)).toBe((method.ringRows || method.planeH) * method.planeW);
        methods[method.ringRows > 0 ? 'ring' : 'plane']++;
        const geometry = [p.inH, p.inW, p.inC, p.outH, p.outW, p.kH, p.kW, p.strideH, p.strideW, p.dilationH, p.dilationW, p.padTop, p.padLeft, p.inputOffset, p.outputOffset, p.actMin, p.actMax, singleRounding ? 1 : 0, method.planeH, method.planeW, method.ringRows];
        const bias = p.bias ?? new Int32Array(g.channels);
        lines.push([...geometry, p.bias ? 1 : 0, ...p.filter, ...bias, ...p.multiplier, ...p.shift, ...input].join(' '));
        expected.push({ what: JSON.stringify({ ...g, singleRounding, method }), out: [1, ...out] });
      }
    }
    const got = execFileSync(path.join(dir, 'driver'), { input: lines.join('\n'), maxBuffer: 64 << 20 }).toString().trim().split('\n');
    expect(got.length).toBe(expected.length);
    expected.forEach((e, i) => expect(got[i].split(' ').map(Number), e.what).toEqual(e.out));
    expect(methods.ring).toBeGreaterThan(cases.length / 2);
    expect(methods.plane).toBeGreaterThan(20);
  });
});
