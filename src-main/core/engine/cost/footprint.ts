/**
 * The runtime's own footprint on a device, in one place. The compile report's Flash figure comes from
 * measured kernel sizes per core instead (codegen/flash-estimate.ts); RUNTIME_FLASH_BYTES and
 * FLASH_BYTES_PER_OP remain the quick allowance of modelCost (the graph summary on import):
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

/** Per output channel requantization: int32 multiplier + int32 shift. */
export const REQUANT_BYTES_PER_CHANNEL = 8;
