import { describe, expect, it } from 'vitest';
import { FLASH_BYTES_PER_OP, RUNTIME_FLASH_BYTES, RUNTIME_SRAM_BYTES } from '../../../src-main/core/engine/cost/footprint';
import { modelCost } from '../../../src-main/core/engine/cost/macs';
import { checkFit } from '../../../src-main/core/engine/fit';
import { findMcuProfile, loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IrBuilder } from '../../support/ir-builder';

describe('MACs, params and Flash', () => {
  const b = new IrBuilder('cost');
  const x = b.input([1, 8, 8, 3]);
  const c = b.conv(x, { outChannels: 4, kernel: 3, stride: 2 }); // 4x4x4, filter 4x3x3x3
  const p = b.pad(c, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]);
  const d = b.depthwise(p, { padding: 'valid', multiplier: 2 }); // 4x4x8, filter 1x3x3x8
  const r = b.reshape(b.avgPool(d, 4), [1, 8]);
  const f = b.fullyConnected(r, 5); // 5x8
  const model = b.build([f]);
  const cost = modelCost(model);

  it('counts MACs of conv, depthwise and FC', () => {
    expect(cost.perOp.map((o) => o.macs)).toEqual([4 * 4 * 4 * 27, 0, 4 * 4 * 8 * 9, 0, 0, 5 * 8]);
    expect(cost.macs).toBe(1728 + 1152 + 40);
  });

  it('counts weights and biases as parameters, shapes and paddings not', () => {
    expect(cost.params).toBe(108 + 4 + 72 + 8 + 40 + 5);
    expect(cost.perOp[1].params).toBe(0);
  });

  it('estimates Flash from weights, int32 biases, requant params and the runtime', () => {
    expect(cost.flash.weightBytes).toBe(108 + 72 + 40);
    expect(cost.flash.biasBytes).toBe(4 * (4 + 8 + 5));
    expect(cost.flash.requantBytes).toBe(8 * (4 + 8 + 5));
    expect(cost.flash.metadataBytes).toBe(4 * 8 + 4 * 2);
    expect(cost.flash.opCallBytes).toBe(6 * FLASH_BYTES_PER_OP);
    expect(cost.flash.totalBytes).toBe(220 + 68 + 136 + 40 + 6 * FLASH_BYTES_PER_OP + RUNTIME_FLASH_BYTES);
  });
});

describe('MCU catalog and fit check', () => {
  const profiles = loadMcuProfiles();

  it('holds the profiles of the design with sizes in KiB', () => {
    const f746 = findMcuProfile(profiles, 'stm32f746');
    expect(f746).toMatchObject({ sramBytes: 320 * 1024, flashBytes: 1024 * 1024, clockMhz: 216, core: 'cortex-m7' });
    for (const id of ['stm32h743', 'stm32f412', 'stm32l4r5', 'nrf52840', 'rp2040', 'esp32s3']) expect(() => findMcuProfile(profiles, id)).not.toThrow();
    expect(() => findMcuProfile(profiles, 'z80')).toThrow(/unknown MCU profile "z80".*stm32f746/);
  });

  it('rejects a malformed catalog with the offending field', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcu-'));
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ version: 1, profiles: [{ id: 'x', name: 'X', core: 'm4', sramBytes: -1, flashBytes: 1, clockMhz: 1, fpu: true }] }));
    expect(() => loadMcuProfiles(file)).toThrow(/profiles\.0\.sramBytes/);
    writeFileSync(file, '{');
    expect(() => loadMcuProfiles(file)).toThrow(/cannot read MCU catalog/);
  });

  it('adds the runtime SRAM to the arena and gives headroom both ways', () => {
    const [f412, h743] = [findMcuProfile(profiles, 'stm32f412'), findMcuProfile(profiles, 'stm32h743')];
    const arena = 300 * 1024;
    const [a, b] = checkFit(arena, 900 * 1024, [f412, h743]);
    expect(a.sramNeededBytes).toBe(arena + RUNTIME_SRAM_BYTES);
    expect(a.sramHeadroomBytes).toBe(256 * 1024 - arena - RUNTIME_SRAM_BYTES);
    expect(a).toMatchObject({ fitsSram: false, fitsFlash: true, fits: false });
    expect(b).toMatchObject({ fitsSram: true, fitsFlash: true, fits: true, flashHeadroomBytes: 2048 * 1024 - 900 * 1024 });
    // exactly full still fits
    const [edge] = checkFit(f412.sramBytes - RUNTIME_SRAM_BYTES, f412.flashBytes, [f412]);
    expect(edge).toMatchObject({ sramHeadroomBytes: 0, flashHeadroomBytes: 0, fits: true });
  });
});
