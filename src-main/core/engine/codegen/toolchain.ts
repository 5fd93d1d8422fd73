import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { C_FLAGS, MCU_LINK_FLAGS, mcuFlags } from './bundle';
import { armCore, DEFAULT_CORE } from './cores';

/**
 * Builds and runs a written C bundle with the host gcc, arm-none-eabi-gcc and qemu-system-arm.
 * Every function names the tool and shows its stderr when it fails.
 */

const run = promisify(execFile);
const MAX_BUFFER = 64 * 1024 * 1024;

/** True when `tool --version` runs. */
export function hasTool(tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

async function tool(cmd: string, args: string[], options: { cwd?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(cmd, args, { ...options, maxBuffer: MAX_BUFFER });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} failed: ${(e.stderr || e.message).trim().slice(0, 4000)}`);
  }
}

/** Compiles the host harness (`gcc -std=c99 -Wall -Wextra -Werror -O2`); returns the executable. */
export async function buildHost(dir: string, options: { probe?: boolean } = {}): Promise<string> {
  const exe = path.join(dir, options.probe ? 'model_host_probe' : 'model_host');
  await tool('gcc', [...C_FLAGS, ...(options.probe ? ['-DTF_MODEL_PROBE=tf_probe'] : []), '-o', exe, 'model.c', 'tf_kernels.c', 'main_host.c', '-lm'], { cwd: dir });
  return exe;
}

/** What one host run produced. */
export interface HostRun {
  output: Uint8Array;
  /** Mean ns per inference over `repeat` extra runs. */
  nsPerInference?: number;
  /** Probe builds: every op output by tensor id. */
  probes?: Map<number, Uint8Array>;
}

/** Runs the host harness on input bytes; with `repeat` it also measures ns per inference. */
export async function runHost(exe: string, input: Uint8Array, repeat = 0): Promise<HostRun> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'tf-host-'));
  try {
    const inFile = path.join(tmp, 'input.bin');
    const outFile = path.join(tmp, 'output.bin');
    const probeFile = path.join(tmp, 'probe.bin');
    await writeFile(inFile, input);
    const { stderr } = await tool(exe, [inFile, outFile, String(repeat)], { env: { ...process.env, TF_PROBE_FILE: probeFile } });
    const m = /ns_per_inference (\d+)/.exec(stderr);
    const probes = await readProbes(probeFile);
    return { output: new Uint8Array(await readFile(outFile)), nsPerInference: m ? Number(m[1]) : undefined, probes };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function readProbes(file: string): Promise<Map<number, Uint8Array> | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    return undefined;
  }
  const probes = new Map<number, Uint8Array>();
  for (let at = 0; at + 8 <= bytes.length; ) {
    const id = bytes.readUInt32LE(at);
    const n = bytes.readUInt32LE(at + 4);
    probes.set(id, new Uint8Array(bytes.subarray(at + 8, at + 8 + n)));
    at += 8 + n;
  }
  return probes;
}

/**
 * Cross-compiles a written bundle's mcu/ target with arm-none-eabi-gcc -O2 for a Cortex-M core of the
 * catalog (cortex-m7, cortex-m4 with its FPU, cortex-m0plus); a core without an Arm build is an error
 * naming the toolchain it needs.
 */
export async function buildMcu(dir: string, core: string = DEFAULT_CORE): Promise<string> {
  const elf = path.join(dir, 'model.elf');
  await tool(
    'arm-none-eabi-gcc',
    [...C_FLAGS, ...mcuFlags(armCore(core)), '-I.', '-Imcu', ...MCU_LINK_FLAGS, '-o', elf,
      'model.c', 'tf_kernels.c', 'mcu/startup.c', 'mcu/semihost.c', 'mcu/main_mcu.c', '-lm', '-lc', '-lgcc'],
    { cwd: dir },
  );
  return elf;
}

/** Section sizes of an ELF as arm-none-eabi-size -A reports them, and the Flash/SRAM they add up to. */
export interface SectionSizes {
  text: number;
  rodata: number;
  data: number;
  bss: number;
  /** text + rodata + data (what goes to Flash). */
  flash: number;
  /** data + bss (static SRAM; the stack comes on top). */
  sram: number;
}

export async function elfSizes(elf: string): Promise<SectionSizes> {
  const { stdout } = await tool('arm-none-eabi-size', ['-A', elf]);
  const get = (name: string) => {
    const m = new RegExp(`^\\${name}\\s+(\\d+)`, 'm').exec(stdout);
    return m ? Number(m[1]) : 0;
  };
  const text = get('.text') + get('.ARM.exidx');
  const rodata = get('.rodata');
  const data = get('.data');
  const bss = get('.bss');
  return { text, rodata, data, bss, flash: text + rodata + data, sram: data + bss };
}

/** Ticks of the 25 MHz CMSDK timer per instruction-nanosecond: with -icount shift=0, 40 instructions per tick. */
export const INSTRUCTIONS_PER_TIMER_TICK = 40;

/**
 * Runs a Cortex-M build under qemu-system-arm on the core's mps2 board (mps2-an500 for Cortex-M7,
 * mps2-an386 for Cortex-M4) with semihosting and -icount shift=0. Returns the output bytes and the
 * instructions of one inference (resolution: 40 instructions).
 */
export async function runQemu(
  elf: string,
  input: Uint8Array,
  options: { core?: string; timeoutMs?: number } = {},
): Promise<{ output: Uint8Array; instructions: number }> {
  const core = armCore(options.core ?? DEFAULT_CORE);
  if (!core.qemuMachine) throw new Error(`qemu has no board with a ${core.label}: run the build on the device`);
  const timeoutMs = options.timeoutMs ?? 600_000;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'tf-qemu-'));
  try {
    await writeFile(path.join(tmp, 'input.bin'), input);
    const { stdout, stderr } = await tool(
      'qemu-system-arm',
      ['-M', core.qemuMachine, '-nographic', '-monitor', 'none', '-serial', 'none', '-semihosting-config', 'enable=on,target=native', '-icount', 'shift=0', '-kernel', elf],
      { cwd: tmp, timeout: timeoutMs },
    );
    const m = /timer_ticks (\d+)/.exec(stdout + stderr);
    if (!m) throw new Error(`qemu run printed no timer ticks: ${(stdout + stderr).slice(0, 2000)}`);
    return { output: new Uint8Array(await readFile(path.join(tmp, 'output.bin'))), instructions: Number(m[1]) * INSTRUCTIONS_PER_TIMER_TICK };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
