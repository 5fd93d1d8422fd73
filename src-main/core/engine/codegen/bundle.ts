import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { coreTarget, DEFAULT_CORE, type ArmCore, type ForeignCore } from './cores';
import type { GeneratedModel } from './generate';

/**
 * The files around a generated model: the kernel library (copied from resources/c-runtime), a
 * host harness, a Cortex-M target in mcu/ for qemu's mps2 boards (vector table, reset handler,
 * semihosting, linker script) and a Makefile that builds both for the bundle's core.
 */

/** Where the C kernel library lives in the project (resources/c-runtime). */
export const C_RUNTIME_DIR = fileURLToPath(new URL('../../../../resources/c-runtime', import.meta.url));

/** Kernel library sources emitted beside every model. */
export const KERNEL_FILES = ['tf_kernels.h', 'tf_kernels.c'] as const;

/** Flags every build uses: C99 with all warnings as errors. */
export const C_FLAGS = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O2'];
/** Flags of every Cortex-M build of a core: its CPU/FPU flags, Thumb, one section per function and object. */
export function mcuFlags(core: ArmCore): string[] {
  return [...core.cpuFlags, '-mthumb', '-ffunction-sections', '-fdata-sections'];
}
/** Cortex-M link flags: own startup, the board's linker script, unused kernels dropped. */
export const MCU_LINK_FLAGS = ['-nostartfiles', '-T', 'mcu/mps2.ld', '-Wl,--gc-sections'];

/**
 * mps2 memory (QEMU hw/arm/mps2.c, the same on mps2-an500 (Cortex-M7) and mps2-an386 (Cortex-M4)):
 * ZBT SSRAM1 4 MiB at 0x0 holds the vector table, code and constants (the "Flash"); ZBT SSRAM2/3
 * 4 MiB at 0x20000000 holds data, bss and the stack; PSRAM 16 MiB at 0x60000000 is unused unless the
 * arena does not fit the SSRAM.
 */
export const MPS2_BOARD = { flashBytes: 4 * 1024 * 1024, ramBytes: 4 * 1024 * 1024, psramBytes: 16 * 1024 * 1024 };

const HOST_MAIN = `/* Host harness: reads the model's inputs (concatenated raw bytes) from a file or stdin, runs the
 * model, writes the outputs (concatenated raw bytes) to a file or stdout.
 *   model_host [INPUT|-] [OUTPUT|-] [REPEAT]
 * With REPEAT > 0 the model runs REPEAT more times and the mean nanoseconds per inference go to stderr. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

#ifdef TF_MODEL_PROBE
/* Probe builds append every op's output to $TF_PROBE_FILE as records: tensor id (u32 LE), byte count
 * (u32 LE), bytes. */
void TF_MODEL_PROBE(int32_t tensor, const void *data, size_t bytes) {
  static FILE *probe_file = NULL;
  unsigned char head[8];
  const char *path = getenv("TF_PROBE_FILE");
  int k;
  if (!path) return;
  if (!probe_file) probe_file = fopen(path, "wb");
  if (!probe_file) return;
  for (k = 0; k < 4; k++) {
    head[k] = (unsigned char)(((uint32_t)tensor >> (8 * k)) & 0xffu);
    head[4 + k] = (unsigned char)(((uint32_t)bytes >> (8 * k)) & 0xffu);
  }
  fwrite(head, 1, 8, probe_file);
  fwrite(data, 1, bytes, probe_file);
  fflush(probe_file);
}
#endif

static size_t total_input_bytes(void) {
  size_t n = 0;
  int32_t i;
  for (i = 0; i < TF_MODEL_INPUTS; i++) n += tf_model_input_bytes(i);
  return n;
}

static void load_inputs(const unsigned char *bytes) {
  int32_t i;
  for (i = 0; i < TF_MODEL_INPUTS; i++) {
    memcpy(tf_model_input(i), bytes, tf_model_input_bytes(i));
    bytes += tf_model_input_bytes(i);
  }
}

int main(int argc, char **argv) {
  const char *in_path = argc > 1 ? argv[1] : "-";
  const char *out_path = argc > 2 ? argv[2] : "-";
  const long repeat = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
  const size_t need = total_input_bytes();
  unsigned char *bytes = (unsigned char *)malloc(need + 1);
  FILE *in = strcmp(in_path, "-") == 0 ? stdin : fopen(in_path, "rb");
  FILE *out;
  size_t got;
  int32_t i;
  if (!bytes || !in) {
    fprintf(stderr, "model_host: cannot open input %s\\n", in_path);
    return 2;
  }
  got = fread(bytes, 1, need + 1, in);
  if (got != need) {
    fprintf(stderr, "model_host: input has %lu bytes, the model needs %lu\\n", (unsigned long)got, (unsigned long)need);
    return 2;
  }
  load_inputs(bytes);
  tf_model_invoke();
  out = strcmp(out_path, "-") == 0 ? stdout : fopen(out_path, "wb");
  if (!out) {
    fprintf(stderr, "model_host: cannot open output %s\\n", out_path);
    return 2;
  }
  for (i = 0; i < TF_MODEL_OUTPUTS; i++) fwrite(tf_model_output(i), 1, tf_model_output_bytes(i), out);
  if (out != stdout) fclose(out);
  if (repeat > 0) {
    struct timespec t0, t1;
    long r;
    double ns;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (r = 0; r < repeat; r++) {
      load_inputs(bytes);
      tf_model_invoke();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)repeat;
    fprintf(stderr, "ns_per_inference %.0f\\n", ns);
  }
  free(bytes);
  return 0;
}
`;

const MCU_STARTUP = `/* Minimal Cortex-M startup for qemu's mps2 boards: vector table, reset handler that enables the FPU
 * (hard-float builds), copies .data and zeroes .bss, then main(); exit through semihosting. */
#include <stdint.h>

#include "semihost.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void Reset_Handler(void);
void Default_Handler(void);

void Reset_Handler(void) {
  uint32_t *src = &_sidata;
  uint32_t *dst = &_sdata;
#if defined(__ARM_FP)
  /* CP10/CP11 full access (SCB->CPACR) before the first floating-point instruction. */
  *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
  __asm__ volatile("dsb\\n\\tisb" ::: "memory");
#endif
  while (dst < &_edata) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  tf_semihost_exit(main());
}

void Default_Handler(void) {
  tf_semihost_write0("fault\\n");
  tf_semihost_exit(3);
}

__attribute__((section(".vectors"), used)) void (*const tf_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_estack, Reset_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, 0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler,
    Default_Handler};
`;

const MCU_SEMIHOST_H = `/* ARM semihosting calls (bkpt 0xab) used by the qemu target. */
#ifndef TF_SEMIHOST_H
#define TF_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

int32_t tf_semihost_open(const char *path, int32_t mode);
int32_t tf_semihost_read(int32_t handle, void *buf, size_t len);
int32_t tf_semihost_write(int32_t handle, const void *buf, size_t len);
void tf_semihost_close(int32_t handle);
void tf_semihost_write0(const char *text);
void tf_semihost_exit(int32_t code);

#endif
`;

const MCU_SEMIHOST_C = `#include "semihost.h"

static int32_t semihost(int32_t op, void *arg) {
  register int32_t r0 __asm__("r0") = op;
  register void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static size_t length(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

int32_t tf_semihost_open(const char *path, int32_t mode) {
  uint32_t a[3];
  a[0] = (uint32_t)(uintptr_t)path;
  a[1] = (uint32_t)mode;
  a[2] = (uint32_t)length(path);
  return semihost(0x01, a);
}

/* Returns the bytes transferred (SYS_READ/SYS_WRITE return the bytes NOT transferred). */
int32_t tf_semihost_read(int32_t handle, void *buf, size_t len) {
  uint32_t a[3];
  a[0] = (uint32_t)handle;
  a[1] = (uint32_t)(uintptr_t)buf;
  a[2] = (uint32_t)len;
  return (int32_t)len - semihost(0x06, a);
}

int32_t tf_semihost_write(int32_t handle, const void *buf, size_t len) {
  uint32_t a[3];
  a[0] = (uint32_t)handle;
  a[1] = (uint32_t)(uintptr_t)buf;
  a[2] = (uint32_t)len;
  return (int32_t)len - semihost(0x05, a);
}

void tf_semihost_close(int32_t handle) {
  uint32_t a[1];
  a[0] = (uint32_t)handle;
  (void)semihost(0x02, a);
}

void tf_semihost_write0(const char *text) { (void)semihost(0x04, (void *)(uintptr_t)text); }

void tf_semihost_exit(int32_t code) {
  /* ADP_Stopped_ApplicationExit ends qemu with status 0; RunTimeErrorUnknown with status 1. */
  (void)semihost(0x18, (void *)(uintptr_t)(code == 0 ? 0x20026u : 0x20023u));
  for (;;) {
  }
}
`;

const MCU_MAIN = `/* qemu target: reads input.bin, runs the model, writes output.bin (in qemu's working directory) and
 * prints the CMSDK timer ticks of one inference (25 MHz SYSCLK: with -icount shift=0 one instruction
 * takes 1 ns, so instructions = ticks * 40). */
#include <stdint.h>

#include "model.h"
#include "semihost.h"

#define TIMER0_CTRL (*(volatile uint32_t *)0x40000000u)
#define TIMER0_VALUE (*(volatile uint32_t *)0x40000004u)
#define TIMER0_RELOAD (*(volatile uint32_t *)0x40000008u)

static void put_u32(const char *label, uint32_t v) {
  char buf[48];
  char digits[11];
  int32_t n = 0, i = 0;
  while (label[i]) {
    buf[i] = label[i];
    i++;
  }
  do {
    digits[n++] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v);
  while (n) buf[i++] = digits[--n];
  buf[i++] = '\\n';
  buf[i] = 0;
  tf_semihost_write0(buf);
}

int main(void) {
  int32_t h, i;
  uint32_t t0, t1;
  h = tf_semihost_open("input.bin", 1);
  if (h < 0) {
    tf_semihost_write0("cannot open input.bin\\n");
    return 1;
  }
  for (i = 0; i < TF_MODEL_INPUTS; i++) {
    if (tf_semihost_read(h, tf_model_input(i), tf_model_input_bytes(i)) != (int32_t)tf_model_input_bytes(i)) {
      tf_semihost_write0("input.bin is too short\\n");
      return 1;
    }
  }
  tf_semihost_close(h);
  TIMER0_RELOAD = 0xffffffffu;
  TIMER0_VALUE = 0xffffffffu;
  TIMER0_CTRL = 1u;
  t0 = TIMER0_VALUE;
  tf_model_invoke();
  t1 = TIMER0_VALUE;
  put_u32("timer_ticks ", t0 - t1);
  h = tf_semihost_open("output.bin", 5);
  if (h < 0) {
    tf_semihost_write0("cannot open output.bin\\n");
    return 1;
  }
  for (i = 0; i < TF_MODEL_OUTPUTS; i++) tf_semihost_write(h, tf_model_output(i), tf_model_output_bytes(i));
  tf_semihost_close(h);
  return 0;
}
`;

function linkerScript(): string {
  return `/* qemu mps2 boards: SSRAM1 at 0x0 as Flash, SSRAM2/3 at 0x20000000 as SRAM. */
MEMORY
{
  FLASH (rx)  : ORIGIN = 0x00000000, LENGTH = ${MPS2_BOARD.flashBytes}
  RAM   (rwx) : ORIGIN = 0x20000000, LENGTH = ${MPS2_BOARD.ramBytes}
}
ENTRY(Reset_Handler)
_estack = ORIGIN(RAM) + LENGTH(RAM);
SECTIONS
{
  .text : { KEEP(*(.vectors)) *(.text .text.*) } > FLASH
  .rodata : { . = ALIGN(4); *(.rodata .rodata.*) . = ALIGN(4); } > FLASH
  .ARM.exidx : { *(.ARM.exidx*) } > FLASH
  _sidata = LOADADDR(.data);
  .data : { . = ALIGN(4); _sdata = .; *(.data .data.*) . = ALIGN(4); _edata = .; } > RAM AT > FLASH
  .bss (NOLOAD) : { . = ALIGN(4); _sbss = .; *(.bss .bss.* COMMON) . = ALIGN(4); _ebss = .; } > RAM
  /* at least 16 KiB of stack below _estack */
  ASSERT(_ebss + 16384 <= _estack, "arena and data do not fit the board's SRAM")
}
`;
}

function foreignMakefile(core: ForeignCore): string {
  return `# Generated by TinyFleet for ${core.label}.
#   make            host build (model_host); run: ./model_host input.bin output.bin
# The device build needs ${core.toolchain}: add model.c and tf_kernels.c
# to your firmware project (C99, no heap). TinyFleet gives Flash and SRAM estimates only.
CC ?= gcc
CFLAGS ?= ${C_FLAGS.join(' ')}
SRCS = model.c tf_kernels.c

all: model_host

model_host: $(SRCS) main_host.c model.h tf_kernels.h
\t$(CC) $(CFLAGS) -o $@ $(SRCS) main_host.c -lm

clean:
\trm -f model_host output.bin

.PHONY: all clean
`;
}

function makefile(core: ArmCore): string {
  const qemu = core.qemuMachine
    ? `qemu: model.elf\n\tqemu-system-arm -M ${core.qemuMachine} -nographic -monitor none -serial none -semihosting-config enable=on,target=native -icount shift=0 -kernel model.elf\n`
    : `qemu:\n\t@echo "qemu has no ${core.label} board: flash model.elf to the device instead"\n`;
  return `# Generated by TinyFleet for ${core.label}.
#   make            host build (model_host); run: ./model_host input.bin output.bin
#   make mcu        ${core.label} build (model.elf, linked for qemu's mps2 memory map)
#   make size       arm-none-eabi-size of model.elf
#   make qemu       run model.elf under qemu (reads input.bin, writes output.bin)
CC ?= gcc
ARM_CC ?= arm-none-eabi-gcc
CFLAGS ?= ${C_FLAGS.join(' ')}
MCU_FLAGS ?= ${mcuFlags(core).join(' ')}
SRCS = model.c tf_kernels.c

all: model_host

model_host: $(SRCS) main_host.c model.h tf_kernels.h
\t$(CC) $(CFLAGS) -o $@ $(SRCS) main_host.c -lm

mcu: model.elf

model.elf: $(SRCS) mcu/startup.c mcu/semihost.c mcu/main_mcu.c mcu/mps2.ld model.h tf_kernels.h
\t$(ARM_CC) $(CFLAGS) $(MCU_FLAGS) -I. -Imcu ${MCU_LINK_FLAGS.join(' ')} -o $@ $(SRCS) mcu/startup.c mcu/semihost.c mcu/main_mcu.c -lm -lc -lgcc

size: model.elf
\tarm-none-eabi-size -A model.elf

${qemu}
clean:
\trm -f model_host model.elf output.bin

.PHONY: all mcu size qemu clean
`;
}

/**
 * Every file of a C bundle for a core of the catalog (default Cortex-M7), by relative path. Cortex-M
 * cores get the mcu/ target; other cores (ESP32-S3) get the model, kernels and host harness, with a
 * Makefile that names the toolchain their device build needs.
 */
export function bundleFiles(generated: GeneratedModel, core: string = DEFAULT_CORE): Record<string, string> {
  const target = coreTarget(core);
  const files: Record<string, string> = { ...generated.files };
  for (const f of KERNEL_FILES) files[f] = readFileSync(path.join(C_RUNTIME_DIR, f), 'utf8');
  files['main_host.c'] = HOST_MAIN;
  if (target.kind === 'foreign') {
    files['Makefile'] = foreignMakefile(target);
    return files;
  }
  files['Makefile'] = makefile(target);
  files['mcu/startup.c'] = MCU_STARTUP;
  files['mcu/semihost.h'] = MCU_SEMIHOST_H;
  files['mcu/semihost.c'] = MCU_SEMIHOST_C;
  files['mcu/main_mcu.c'] = MCU_MAIN;
  files['mcu/mps2.ld'] = linkerScript();
  return files;
}

/** Writes a C bundle into `dir` (created if needed); returns the paths written. */
export async function writeBundle(dir: string, generated: GeneratedModel, core: string = DEFAULT_CORE): Promise<string[]> {
  const written: string[] = [];
  for (const [rel, text] of Object.entries(bundleFiles(generated, core))) {
    const file = path.join(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    written.push(file);
  }
  return written;
}
