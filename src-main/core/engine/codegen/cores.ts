/**
 * The MCU cores generated C is built for, from the `core` field of the MCU catalog: the compiler
 * flags of each, the qemu board that runs it where one exists, and, for cores we cannot build here,
 * which toolchain the user needs.
 */

/** An Arm Cortex-M core built with arm-none-eabi-gcc. */
export interface ArmCore {
  kind: 'arm';
  core: 'cortex-m7' | 'cortex-m4' | 'cortex-m0plus';
  /** Human label, e.g. "Cortex-M4F". */
  label: string;
  /** -mcpu/-mfpu/-mfloat-abi flags (besides -mthumb and the section flags every build uses). */
  cpuFlags: string[];
  /** qemu-system-arm board with this core and the mps2 memory map, when qemu has one. */
  qemuMachine?: string;
}

/** A core whose compiler is not installed here: the build gives the engine's estimates only. */
export interface ForeignCore {
  kind: 'foreign';
  core: string;
  label: string;
  /** The cross compiler the user needs, and where it comes from. */
  toolchain: string;
}

export type CoreTarget = ArmCore | ForeignCore;

const ARM_CORES: Record<ArmCore['core'], ArmCore> = {
  // Soft-float ABI as before: the kernels are integer-only, and QUANTIZE's float math is rare.
  'cortex-m7': { kind: 'arm', core: 'cortex-m7', label: 'Cortex-M7', cpuFlags: ['-mcpu=cortex-m7'], qemuMachine: 'mps2-an500' },
  // STM32F4/L4 and nRF52840: Cortex-M4 with the single-precision FPU, hard-float ABI.
  'cortex-m4': {
    kind: 'arm',
    core: 'cortex-m4',
    label: 'Cortex-M4F',
    cpuFlags: ['-mcpu=cortex-m4', '-mfpu=fpv4-sp-d16', '-mfloat-abi=hard'],
    qemuMachine: 'mps2-an386',
  },
  // RP2040: ARMv6-M, no FPU, no hardware divide; qemu has no board with it.
  'cortex-m0plus': { kind: 'arm', core: 'cortex-m0plus', label: 'Cortex-M0+', cpuFlags: ['-mcpu=cortex-m0plus'] },
};

const FOREIGN_CORES: Record<string, ForeignCore> = {
  'xtensa-lx7': {
    kind: 'foreign',
    core: 'xtensa-lx7',
    label: 'Xtensa LX7 (ESP32-S3)',
    toolchain: 'xtensa-esp32s3-elf-gcc from Espressif ESP-IDF',
  },
};

/** The build target of a catalog core; an unknown core is an error naming the known ones. */
export function coreTarget(core: string): CoreTarget {
  const target = (ARM_CORES as Record<string, ArmCore>)[core] ?? FOREIGN_CORES[core];
  if (!target) throw new Error(`unknown MCU core "${core}" (known: ${[...Object.keys(ARM_CORES), ...Object.keys(FOREIGN_CORES)].join(', ')})`);
  return target;
}

/** The Arm core of a catalog core, or an error saying which toolchain a foreign core needs. */
export function armCore(core: string): ArmCore {
  const target = coreTarget(core);
  if (target.kind !== 'arm') throw new Error(`${target.label} builds need ${target.toolchain}; TinyFleet gives its Flash and SRAM estimates only`);
  return target;
}

/** The default build core (the qemu mps2-an500 board, STM32F7/H7). */
export const DEFAULT_CORE = 'cortex-m7';
