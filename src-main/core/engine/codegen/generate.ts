import { elementCount, tensorBytes, type Model } from '../ir';
import type { PatchCandidate } from '../patch/search';
import { planModel, variableTensors, type PlannedSchedule } from '../planner/plan';
import { prepareStep } from '../planner/prepare-step';
import type { RoundingMode } from '../runtime/requantize';
import { comment, constArray, floatLiteral, stringLiteral, type CArrayType } from './c-literals';
import { emitStep, type EmitContext } from './op-emitters';
import { emitPatchStage } from './patch-stage';

export interface GenerateCOptions {
  /** Requantization of CONV_2D/FULLY_CONNECTED (and TFLite's MEAN path): default `tflm`. */
  rounding?: RoundingMode;
  /** The planned schedule to emit; default: the planner's TinyEngine plan. */
  planned?: PlannedSchedule;
  /**
   * Run the first steps patch by patch (a candidate of the patch search on `planned.schedule`): its
   * whole-model plan replaces the per-layer plan.
   */
  patch?: PatchCandidate;
  /**
   * Count the constants instead of writing them out (model.c then lacks its const arrays): what the
   * Flash estimate needs, without formatting megabytes of weights.
   */
  sizeOnly?: boolean;
}

/** Generated model sources and what they cost. */
export interface GeneratedModel {
  /** model.h and model.c. */
  files: Record<string, string>;
  /** Size of the static arena (the plan's peak, scratch included). */
  arenaBytes: number;
  /** Bytes of const data emitted (weights, biases, multipliers, tables). */
  constBytes: number;
  /** Kernel calls in tf_model_invoke (aliased RESHAPE/SQUEEZE emit none). */
  calls: number;
  /** C library functions tf_model_invoke calls, with how many call sites each has. */
  kernelCalls: Map<string, number>;
  /** Call sites (kernels and window copies) inside the patch stage; 0 without one. */
  patchCallSites: number;
  /** Bytes of the static const parameter structs and small arrays the call sites declare. */
  staticParamBytes: number;
}

const PARAM_ELEMENT_BYTES: Record<string, number> = { int8_t: 1, uint8_t: 1, int16_t: 2 };

/** Bytes of the `static const T name[...] = {...};` declarations in generated statements (struct fields are 32-bit). */
function staticParamBytes(code: string): number {
  let bytes = 0;
  for (const m of code.matchAll(/static const (\w+) \w+(?:\[\d+\])? = \{([^;]*)\};/g)) {
    bytes += m[2].replace(/[{}]/g, '').split(',').length * (PARAM_ELEMENT_BYTES[m[1]] ?? 4);
  }
  return bytes;
}

/** Call sites of C library functions (`tf_name(`) in generated statements. */
function callSites(code: string, into: Map<string, number>): number {
  let n = 0;
  for (const m of code.matchAll(/\b(tf_[a-z0-9_]+)\(/g)) {
    into.set(m[1], (into.get(m[1]) ?? 0) + 1);
    n++;
  }
  return n;
}

const C_BYTES: Record<CArrayType, number> = { int8_t: 1, uint8_t: 1, int16_t: 2, int32_t: 4, float: 4 };

function cIdent(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, '_');
}

/**
 * Generates a C99 model: one static arena of exactly the planned size, constants in Flash, one
 * straight-line kernel call per scheduled op at the planned offsets.
 */
export function generateModelC(model: Model, options: GenerateCOptions = {}): GeneratedModel {
  const planned = options.planned ?? planModel(model, 'tinyengine');
  const { schedule } = planned;
  const stage = options.patch?.stage;
  const plan = options.patch?.plan ?? planned.plan;
  if (stage && !stage.split) throw new Error('patch stage has no steps');
  const rounding = options.rounding ?? 'tflm';
  const consts: string[] = [];
  const names = new Set<string>();
  const shared = new Map<string, { name: string; values: ArrayLike<number> }[]>();
  let constBytes = 0;
  let stepIndex = 0;

  const offsetOf = (t: number): number => {
    const off = plan.tensorOffsets.get(t);
    if (off === undefined) throw new Error(`tensor ${t} (${model.tensors[t]?.name}) has no arena offset in the plan`);
    return off;
  };
  const ctx: EmitContext = {
    model,
    s8: (t) => `TF_S8(${offsetOf(t)})`,
    u8: (t) => `TF_U8(${offsetOf(t)})`,
    f32: (t) => `TF_F32(${offsetOf(t)})`,
    scratch: (bytes) => {
      const off = plan.scratchOffsets.get(stepIndex);
      const block = plan.blocks.find((b) => b.kind === 'scratch' && b.step === stepIndex);
      if (off === undefined || !block) throw new Error(`step ${stepIndex} needs ${bytes} scratch bytes but the plan gives it none`);
      if (block.bytes < bytes) throw new Error(`step ${stepIndex} needs ${bytes} scratch bytes, the plan gives ${block.bytes}`);
      return `TF_S8(${off})`;
    },
    elements: (t) => elementCount(model.tensors[t].shape),
    constArray: (type, hint, values) => {
      // Patch loops emit the same op once per patch: its weights are declared once.
      const key = `${type}:${hint}`;
      const same = shared.get(key)?.find((c) => c.values.length === values.length && Array.prototype.every.call(values, (v: number, i: number) => Object.is(v, c.values[i])));
      if (same) return same.name;
      let name = cIdent(hint);
      for (let i = 2; names.has(name); i++) name = `${cIdent(hint)}_${i}`;
      names.add(name);
      if (!options.sizeOnly) consts.push(constArray(type, name, values));
      constBytes += values.length * C_BYTES[type];
      shared.set(key, [...(shared.get(key) ?? []), { name, values }]);
      return name;
    },
  };

  const opByIndex = new Map(model.ops.map((o) => [o.index, o]));
  const body: string[] = [];
  const kernelCalls = new Map<string, number>();
  let patchCallSites = 0;
  let paramBytes = 0;
  let calls = 0;
  const probeOf = (t: number) => `  TF_PROBE(${t}, ${offsetOf(t)}, ${tensorBytes(model.tensors[t])});\n`;
  if (stage) {
    stepIndex = 0;
    // A stage whose only buffers are its whole inputs and output has no patch working set.
    const patchBase = stage.patchPlan.peakBytes === 0 ? 0 : plan.scratchOffsets.get(0);
    if (patchBase === undefined) throw new Error('the patch plan gives the patch stage no buffer space');
    const emitted = emitPatchStage(ctx, schedule, stage, rounding, offsetOf, patchBase);
    patchCallSites = callSites(emitted.code, kernelCalls);
    paramBytes += staticParamBytes(emitted.code);
    body.push(`  ${comment(`steps 0..${stage.split - 1} as ${stage.n}x${stage.n} patches (patch buffers at arena offset ${patchBase})`)}\n${emitted.code}${probeOf(stage.stageOutput)}`);
    calls += emitted.calls;
  }
  for (const step of schedule.steps.slice(stage?.split ?? 0)) {
    // Plan steps: the patch stage is plan step 0, the steps after it follow.
    stepIndex = stage ? step.step - stage.split + 1 : step.step;
    const op = opByIndex.get(step.opIndex)!;
    const what = `${step.step}: ${op.kind} node ${op.index}${step.fusedPad !== undefined ? ` (+ PAD node ${step.fusedPad})` : ''}${step.inPlace ? ' in place' : ''}`;
    const probe = step.outputs
      .filter((t) => plan.tensorOffsets.has(t))
      .map(probeOf)
      .join('');
    if (step.alias) {
      body.push(`  ${comment(`${what}: alias, no code`)}\n${probe}`);
      continue;
    }
    const code = emitStep(ctx, step, prepareStep(model, step, rounding));
    callSites(code, kernelCalls);
    paramBytes += staticParamBytes(code);
    body.push(`  ${comment(what)}\n${code}${probe}`);
    calls++;
  }

  // Variable tensors hold their zero point until the first inference writes them.
  const variables = variableTensors(model);
  const reset = variables.map((t) => {
    const v = model.tensors[t];
    const type = v.dtype === 'int16' ? 'int16_t' : 'int8_t';
    return `  {\n    ${type} *const v = (${type} *)(void *)TF_U8(${offsetOf(t)});\n    int32_t i;\n    for (i = 0; i < ${elementCount(v.shape)}; i++) v[i] = ${v.quant?.zeroPoint[0] ?? 0};\n  }\n`;
  });

  const ios = (ids: number[]) => ({
    offsets: ids.map(offsetOf),
    bytes: ids.map((t) => tensorBytes(model.tensors[t])),
  });
  const ins = ios(model.inputs);
  const outs = ios(model.outputs);
  const arenaBytes = plan.peakBytes;
  const describe = (ids: number[]) =>
    ids.map((t, i) => ` *   ${i}: ${model.tensors[t].name.replace(/\*\//g, '')} ${model.tensors[t].dtype} [${model.tensors[t].shape.join(', ')}]`).join('\n');
  // The firmware quantizes what it hands over and dequantizes what it reads with these (real = scale * (q - zero point)).
  const quantDefines = (prefix: 'INPUT' | 'OUTPUT', ids: number[]) =>
    ids
      .map((t, i) => {
        const q = model.tensors[t].quant;
        if (!q || q.scale.length !== 1) return '';
        return `#define TF_${prefix}${i}_SCALE ${floatLiteral(q.scale[0])}\n#define TF_${prefix}${i}_ZERO_POINT ${q.zeroPoint[0]}\n`;
      })
      .join('');

  const header = `/* Generated by TinyFleet from model ${stringLiteral(model.name).replace(/\*\//g, '')}: do not edit. */
#ifndef TF_MODEL_H
#define TF_MODEL_H

#include <stddef.h>
#include <stdint.h>

/** Bytes of the static activation arena (the memory plan's peak, scratch included). */
#define TF_ARENA_BYTES ${arenaBytes}
#define TF_MODEL_INPUTS ${model.inputs.length}
#define TF_MODEL_OUTPUTS ${model.outputs.length}

/*
 * Inputs:
${describe(model.inputs)}
 * Outputs:
${describe(model.outputs)}
 * Quantized edges: real = SCALE * (q - ZERO_POINT); an int8 input is q = clamp(round(x / SCALE) + ZERO_POINT, -128, 127).
 */
${quantDefines('INPUT', model.inputs)}${quantDefines('OUTPUT', model.outputs)}
/** Address of input INDEX inside the arena (NULL when out of range); fill it before invoking. */
void *tf_model_input(int32_t index);
size_t tf_model_input_bytes(int32_t index);
/** Address of output INDEX inside the arena (NULL when out of range); valid after invoking. */
void *tf_model_output(int32_t index);
size_t tf_model_output_bytes(int32_t index);
/**
 * Runs the model once. The inputs may be overwritten (the plan reuses their bytes). Variable tensors
 * (an SVDF's state) carry over from one inference to the next.
 */
void tf_model_invoke(void);
/** Sets every variable tensor to its zero point, as before the first inference (a new audio stream). */
void tf_model_reset(void);

#ifdef TF_MODEL_PROBE
/* Debug builds (-DTF_MODEL_PROBE=fn) call fn after every op with the tensor id and bytes it produced. */
void TF_MODEL_PROBE(int32_t tensor, const void *data, size_t bytes);
#endif

#endif /* TF_MODEL_H */
`;

  const source = `/* Generated by TinyFleet: do not edit. Schedule of ${schedule.steps.length} steps, arena ${arenaBytes} bytes. */
#include "model.h"
#include "tf_kernels.h"

/* Rounding mode: ${rounding} (${rounding === 'tflite' ? 'single rounding in CONV_2D/FULLY_CONNECTED and table-based SOFTMAX/LOGISTIC, as TFLite' : 'double rounding everywhere and fixed-point SOFTMAX/LOGISTIC, as TFLite Micro'}). */

/* Word-aligned so that int32/float tensors can be placed at any planned (4-aligned) offset. */
static int32_t tf_arena_words[(TF_ARENA_BYTES + 3) / 4];
#define TF_ARENA ((uint8_t *)tf_arena_words)
#define TF_S8(o) ((int8_t *)(TF_ARENA + (o)))
#define TF_U8(o) (TF_ARENA + (o))
#define TF_F32(o) ((float *)(void *)(TF_ARENA + (o)))
#ifdef TF_MODEL_PROBE
#define TF_PROBE(t, o, n) TF_MODEL_PROBE((t), TF_ARENA + (o), (n))
#else
#define TF_PROBE(t, o, n) ((void)0)
#endif

${consts.join('\n')}
static const uint32_t tf_input_offsets[${ins.offsets.length}] = {${ins.offsets.join(', ')}};
static const uint32_t tf_input_bytes[${ins.bytes.length}] = {${ins.bytes.join(', ')}};
static const uint32_t tf_output_offsets[${outs.offsets.length}] = {${outs.offsets.join(', ')}};
static const uint32_t tf_output_bytes[${outs.bytes.length}] = {${outs.bytes.join(', ')}};

void *tf_model_input(int32_t index) {
  return index >= 0 && index < TF_MODEL_INPUTS ? (void *)(TF_ARENA + tf_input_offsets[index]) : NULL;
}

size_t tf_model_input_bytes(int32_t index) {
  return index >= 0 && index < TF_MODEL_INPUTS ? tf_input_bytes[index] : 0;
}

void *tf_model_output(int32_t index) {
  return index >= 0 && index < TF_MODEL_OUTPUTS ? (void *)(TF_ARENA + tf_output_offsets[index]) : NULL;
}

size_t tf_model_output_bytes(int32_t index) {
  return index >= 0 && index < TF_MODEL_OUTPUTS ? tf_output_bytes[index] : 0;
}

void tf_model_reset(void) {
${reset.join('')}}

void tf_model_invoke(void) {
${variables.length ? '  static int32_t tf_state_ready = 0;\n  if (!tf_state_ready) {\n    tf_model_reset();\n    tf_state_ready = 1;\n  }\n' : ''}${body.join('')}}
`;
  return { files: { 'model.h': header, 'model.c': source }, arenaBytes, constBytes, calls, kernelCalls, patchCallSites, staticParamBytes: paramBytes };
}
