import { RUNTIME_SRAM_BYTES } from './cost/footprint';
import type { McuProfile } from '../common/mcu-profile';

/** Whether a compiled model fits one MCU, with the margin both ways (negative headroom = overflow). */
export interface FitResult {
  mcu: string;
  name: string;
  /** Peak activation arena + the runtime's own SRAM (stack, globals). */
  sramNeededBytes: number;
  sramBytes: number;
  sramHeadroomBytes: number;
  /** Headroom as a fraction of the MCU's SRAM. */
  sramHeadroomRatio: number;
  flashNeededBytes: number;
  flashBytes: number;
  flashHeadroomBytes: number;
  flashHeadroomRatio: number;
  fitsSram: boolean;
  fitsFlash: boolean;
  fits: boolean;
}

/** Checks a model's peak arena and Flash estimate (one figure, or one per profile's core) against each profile. */
export function checkFit(peakArenaBytes: number, flash: number | ((profile: McuProfile) => number), profiles: readonly McuProfile[]): FitResult[] {
  const sramNeededBytes = peakArenaBytes + RUNTIME_SRAM_BYTES;
  return profiles.map((p) => {
    const flashNeededBytes = typeof flash === 'number' ? flash : flash(p);
    const sramHeadroomBytes = p.sramBytes - sramNeededBytes;
    const flashHeadroomBytes = p.flashBytes - flashNeededBytes;
    return {
      mcu: p.id,
      name: p.name,
      sramNeededBytes,
      sramBytes: p.sramBytes,
      sramHeadroomBytes,
      sramHeadroomRatio: sramHeadroomBytes / p.sramBytes,
      flashNeededBytes,
      flashBytes: p.flashBytes,
      flashHeadroomBytes,
      flashHeadroomRatio: flashHeadroomBytes / p.flashBytes,
      fitsSram: sramHeadroomBytes >= 0,
      fitsFlash: flashHeadroomBytes >= 0,
      fits: sramHeadroomBytes >= 0 && flashHeadroomBytes >= 0,
    };
  });
}
