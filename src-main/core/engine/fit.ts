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

/** Checks a model's peak arena and Flash estimate against each profile. */
export function checkFit(peakArenaBytes: number, flashNeededBytes: number, profiles: readonly McuProfile[]): FitResult[] {
  const sramNeededBytes = peakArenaBytes + RUNTIME_SRAM_BYTES;
  return profiles.map((p) => {
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

/** Bytes in the binary units MCU datasheets use: "1.0 MiB", "91.5 KiB", "512 B". */
function binaryBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/**
 * What a model lacks on an MCU, with the numbers and what they count, e.g. "needs 3.6 MiB Flash
 * (weights + code estimate), STM32F412 has 1.0 MiB". Empty when the model fits.
 */
export function misfitReason(fit: FitResult): string {
  const parts: string[] = [];
  if (!fit.fitsFlash) parts.push(`needs ${binaryBytes(fit.flashNeededBytes)} Flash (weights + code estimate), ${fit.name} has ${binaryBytes(fit.flashBytes)}`);
  if (!fit.fitsSram) parts.push(`needs ${binaryBytes(fit.sramNeededBytes)} SRAM (arena + runtime), ${fit.name} has ${binaryBytes(fit.sramBytes)}`);
  return parts.join('; ');
}
