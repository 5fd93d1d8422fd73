import { describe, expect, it } from 'vitest';
import { checkFit, misfitReason } from '../../../src-main/core/engine/fit';
import type { McuProfile } from '../../../src-main/core/common/mcu-profile';

const f412: McuProfile = { id: 'stm32f412', name: 'STM32F412', core: 'cortex-m4', sramBytes: 256 * 1024, flashBytes: 1024 * 1024, clockMhz: 100, fpu: true };

describe('misfitReason', () => {
  it('is empty when the model fits', () => {
    const [fit] = checkFit(100 * 1024, 500 * 1024, [f412]);
    expect(fit.fits).toBe(true);
    expect(misfitReason(fit)).toBe('');
  });

  it('names each resource that is short, with what it counts and what the MCU has', () => {
    const [flashOnly] = checkFit(100 * 1024, 3.6 * 1024 * 1024, [f412]);
    expect(misfitReason(flashOnly)).toBe('needs 3.6 MiB Flash (weights + code estimate), STM32F412 has 1.0 MiB');
    const [both] = checkFit(300 * 1024, 2 * 1024 * 1024, [f412]);
    expect(misfitReason(both)).toBe(
      'needs 2.0 MiB Flash (weights + code estimate), STM32F412 has 1.0 MiB; needs 304.0 KiB SRAM (arena + runtime), STM32F412 has 256.0 KiB',
    );
  });
});
