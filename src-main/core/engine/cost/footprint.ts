/**
 * The runtime's own footprint on a device, in one place. These are estimates until the code
 * generator's C library is measured with arm-none-eabi-size (a later issue replaces them with the
 * measured .text/.rodata/.bss):
 *
 * - RUNTIME_FLASH_BYTES: the int8 kernel library (conv, 1x1 conv, depthwise incl. in-place, FC,
 *   pools, ADD/MUL, softmax with its exp table, logistic, hard-swish, quantize/dequantize, concat,
 *   transpose, resize, mean) compiled -Os for Cortex-M7 plus the libgcc/newlib helpers it pulls in
 *   (memcpy/memset, 64-bit shifts). Reference int8 kernels of this kind are 0.5-1.5 KiB each, about
 *   20 KiB for the set.
 * - FLASH_BYTES_PER_OP: one generated call per layer with its constant arguments (tensor pointers,
 *   shapes, pads, quantization pointers) in Thumb-2, about 48 bytes.
 * - RUNTIME_SRAM_BYTES: the stack of the deepest kernel call and the runtime's globals (4 KiB);
 *   the activation arena is counted separately by the planner.
 */
export const RUNTIME_FLASH_BYTES = 20 * 1024;
export const FLASH_BYTES_PER_OP = 48;
export const RUNTIME_SRAM_BYTES = 4 * 1024;

/**
 * Generated C runs the patch stage as straight-line code: one block per stage step per patch (window
 * copies plus the kernel call, with per-patch constants in .rodata). Measured with arm-none-eabi-size
 * (Cortex-M7, -O2) as the growth over the per-layer build, per stage step per patch: person_detect
 * 4x4 184 B, mcunet_vww1 7x7 174 B, mobilenet_v2_int8_224 6x6 174 B, vww_96_int8 8x8 207 B; the
 * estimate takes the largest plus a margin so it stays an upper bound.
 */
export const PATCH_FLASH_BYTES_PER_STAGE_CALL = 224;

/** Flash the patch loop adds for a stage of `split` steps run as n x n patches. */
export function patchCodeBytes(stage: { split: number; n: number }): number {
  return stage.split * stage.n ** 2 * PATCH_FLASH_BYTES_PER_STAGE_CALL;
}

/** Per output channel requantization: int32 multiplier + int32 shift. */
export const REQUANT_BYTES_PER_CHANNEL = 8;
