import type { McuProfile } from '../common/mcu-profile';

/**
 * Instructions our generated C kernels execute per multiply-accumulate on a Cortex-M7, measured
 * once under qemu on the published models (AMD EPYC host, 2026-12-03):
 *
 *   npx tsx scripts/calibrate-sim-latency.ts ../shared/models/{kws_ref_model,person_detect,\
 *     vww_96_int8,mcunet_vww1,micro_speech_quantized}.tflite
 *
 * (arm-none-eabi-gcc -mcpu=cortex-m7 -O2, qemu-system-arm -M mps2-an500 -icount shift=0 through
 * engine/codegen/proof.ts; MACs from engine/cost/macs.ts). Instructions per MAC: kws_ref_model
 * 10.31 (2.66 M MACs), person_detect 8.93 (7.16 M), vww_96_int8 8.70 (7.49 M), mcunet_vww1 10.98
 * (11.58 M), micro_speech 14.15 (0.34 M); all instructions over all MACs: 9.87. The rest of a layer
 * (im2col, requantization, pooling, activations) is folded into the figure, which is why small
 * models cost more per MAC.
 */
export const INSTRUCTIONS_PER_MAC = 9.9;

/**
 * Cycles per instruction by core: qemu counts instructions, not cycles. These are assumptions,
 * not measurements: the M7 is dual-issue but waits on Flash for weights (about 1 on balance); the
 * M4/M33 single-issue pipeline with Flash wait states; the M0+ without the 32-bit multiply-
 * accumulate and unaligned loads the kernels' inner loops assume; the LX7 in between.
 */
const CYCLES_PER_INSTRUCTION: Record<string, number> = {
  'cortex-m7': 1.0,
  'cortex-m4': 1.3,
  'cortex-m33': 1.25,
  'cortex-m0plus': 2.0,
  'xtensa-lx7': 1.2,
};
/** A core the table does not know is costed like a Cortex-M4. */
const DEFAULT_CPI = 1.3;

/** Cycles of one inference of `macs` multiply-accumulates on the profile's core. */
export function inferenceCycles(macs: number, profile: McuProfile): number {
  return macs * INSTRUCTIONS_PER_MAC * (CYCLES_PER_INSTRUCTION[profile.core] ?? DEFAULT_CPI);
}

/** Latency of one inference of `macs` multiply-accumulates at the profile's clock, in ms. */
export function inferenceLatencyMs(macs: number, profile: McuProfile): number {
  return inferenceCycles(macs, profile) / (profile.clockMhz * 1000);
}
