import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleFiles, C_RUNTIME_DIR } from '../../../src-main/core/engine/codegen/bundle';
import { armCore, coreTarget } from '../../../src-main/core/engine/codegen/cores';
import { CODE_SIZE_SOURCES, codeFootprint, flashOnCore, linkedBytes, loadCodeSizeTable } from '../../../src-main/core/engine/codegen/flash-estimate';
import { generateModelC } from '../../../src-main/core/engine/codegen/generate';
import { compileModel } from '../../../src-main/core/engine/compile';
import { loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { buildOpZoo } from './op-zoo';

describe('Flash estimate from measured kernel sizes', () => {
  const table = loadCodeSizeTable();

  it('the measured table is of the C runtime as it is (else: npx tsx scripts/measure-c-runtime.ts)', () => {
    const sha = createHash('sha256').update(CODE_SIZE_SOURCES.map((f) => readFileSync(path.join(C_RUNTIME_DIR, f), 'utf8')).join('\0')).digest('hex');
    expect(table.sourcesSha256, 'resources/c-runtime changed since code-size.json was measured').toBe(sha);
    const header = readFileSync(path.join(C_RUNTIME_DIR, 'tf_kernels.h'), 'utf8');
    for (const core of ['cortex-m7', 'cortex-m4', 'cortex-m0plus']) {
      for (const [, fn] of header.matchAll(/^[a-z][\w\s*]*?\b(tf_[a-z0-9_]+)\(/gm)) expect(table.cores[core].kernels[fn], `${core} ${fn}`).toBeDefined();
    }
  });

  it('counts a helper two kernels share once', () => {
    const m7 = table.cores['cortex-m7'];
    const both = linkedBytes(m7, ['tf_conv_s8', 'tf_conv3x3_s8']);
    expect(both).toBeLessThan(linkedBytes(m7, ['tf_conv_s8']) + linkedBytes(m7, ['tf_conv3x3_s8']));
    expect(both).toBeGreaterThanOrEqual(linkedBytes(m7, ['tf_conv_s8']));
  });

  it('the dry run counts exactly the constants and calls the real generator emits', () => {
    const model = buildOpZoo();
    const real = generateModelC(model);
    const fp = codeFootprint(model);
    expect(fp.kernelCalls).toEqual(real.kernelCalls);
    expect(fp.constBytes).toBe(real.constBytes + real.staticParamBytes);
  });

  it('the compile report gives the figure of the target core, and each profile its own', () => {
    const model = buildOpZoo();
    const m4 = compileModel(model, { mcu: 'nrf52840', patch: 'none' });
    const m0 = compileModel(model, { mcu: 'rp2040', patch: 'none' });
    expect(m4.flash).toMatchObject({ core: 'cortex-m4', measuredCore: 'cortex-m4' });
    expect(m4.flashBytes).toBe(flashOnCore(codeFootprint(model), 'cortex-m4').totalBytes);
    expect(m0.flashBytes).not.toBe(m4.flashBytes);
    expect(m4.fits.find((f) => f.mcu === 'rp2040')!.flashNeededBytes).toBe(m0.flashBytes);
    expect(m4.flash.kernels).toContain('tf_conv1x1_s8');
    expect(m4.flash.totalBytes).toBe(m4.flash.constBytes! + m4.flash.opCallBytes + m4.flash.patchCodeBytes + m4.flash.runtimeBytes);
    // The ESP32-S3 is estimated with Cortex-M7 measurements and says so.
    expect(compileModel(model, { mcu: 'esp32s3', patch: 'none' }).flash).toMatchObject({ core: 'xtensa-lx7', measuredCore: 'cortex-m7' });
  });
});

describe('builds per core', () => {
  it('every catalog core has a build target: Arm flags, or the toolchain it needs', () => {
    for (const p of loadMcuProfiles()) expect(() => coreTarget(p.core), p.id).not.toThrow();
    expect(armCore('cortex-m4').cpuFlags).toEqual(['-mcpu=cortex-m4', '-mfpu=fpv4-sp-d16', '-mfloat-abi=hard']);
    expect(armCore('cortex-m4').qemuMachine).toBe('mps2-an386');
    expect(armCore('cortex-m0plus').cpuFlags).toEqual(['-mcpu=cortex-m0plus']);
    expect(() => armCore('xtensa-lx7')).toThrow(/xtensa-esp32s3-elf-gcc/);
    expect(() => coreTarget('z80')).toThrow(/unknown MCU core "z80"/);
  });

  it('the bundle Makefile is for the core; an ESP32-S3 bundle names its toolchain and has no mcu/ target', () => {
    const g = generateModelC(buildOpZoo());
    expect(bundleFiles(g, 'cortex-m4').Makefile).toContain('MCU_FLAGS ?= -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb');
    expect(bundleFiles(g, 'cortex-m4').Makefile).toContain('qemu-system-arm -M mps2-an386');
    const esp = bundleFiles(g, 'xtensa-lx7');
    expect(esp.Makefile).toContain('xtensa-esp32s3-elf-gcc');
    expect(Object.keys(esp).some((f) => f.startsWith('mcu/'))).toBe(false);
  });
});
