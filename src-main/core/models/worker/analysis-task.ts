import { readFileSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import type { AnalysisOptions, GraphSummary } from '../../contract/models';
import { compileModel, type CompileProgress } from '../../engine/compile';
import type { CompileReport } from '../../contract/compile-report';
import type { McuProfile } from '../../common/mcu-profile';
import { ModelFormatError, UnsupportedOpError } from '../../engine/tflite/errors';
import { modelDigest } from '../../engine/model-digest';
import { readTflite } from '../../engine/tflite/reader';
import { summarizeGraph } from '../graph-summary';
import { runBuildTask, type BuildMisfit, type BuildOutput, type BuildTask } from './build-task';

/** Reads a model file and summarizes its graph (validates it for import). */
export interface InspectTask {
  kind: 'inspect';
  bytes: Uint8Array;
  name: string;
}

/** Reads a stored model file and compiles it (memory plans, patches, fit). */
export interface AnalyzeTask {
  kind: 'analyze';
  file: string;
  name: string;
  options: AnalysisOptions;
  profiles: McuProfile[];
  progress?: MessagePort;
}

export type ModelTask = InspectTask | AnalyzeTask | BuildTask;

/**
 * Why a model was refused, as plain data: class identities do not survive the trip back from a
 * worker, and the registry must tell a bad file (BAD_REQUEST) from a defect of ours.
 */
export interface ModelTaskRefusal {
  ok: false;
  reason: 'malformed' | 'unsupported';
  /** The problem in one human sentence. */
  summary: string;
  /** The precise problem (what, where), as the CLI prints it. */
  message: string;
}

/** A file fit for import: its graph summary and its digest (modelDigest, what devices and rounds name it by). */
export type InspectResult = { ok: true; graph: GraphSummary; digest: string } | ModelTaskRefusal;
export type AnalyzeResult = { ok: true; report: CompileReport } | ModelTaskRefusal;
export type BuildResult = BuildOutput | BuildMisfit | ModelTaskRefusal;

function refusal(error: unknown): ModelTaskRefusal {
  if (error instanceof UnsupportedOpError) return { ok: false, reason: 'unsupported', summary: error.summary, message: error.message };
  if (error instanceof ModelFormatError) return { ok: false, reason: 'malformed', summary: error.summary, message: error.message };
  throw error;
}

/** Runs in a worker thread: the TFLite parse and, for analyses, compileModel with progress; builds for an MCU. */
export default function runModelTask(task: ModelTask): InspectResult | AnalyzeResult | Promise<BuildResult> {
  if (task.kind === 'build') {
    let model;
    try {
      model = readTflite(new Uint8Array(readFileSync(task.file)), { name: task.name });
    } catch (error) {
      return Promise.resolve(refusal(error));
    }
    return runBuildTask(task, model);
  }
  if (task.kind === 'inspect') {
    try {
      const model = readTflite(task.bytes, { name: task.name });
      return { ok: true, graph: summarizeGraph(model), digest: modelDigest(model) };
    } catch (error) {
      return refusal(error);
    }
  }
  try {
    let model;
    try {
      model = readTflite(new Uint8Array(readFileSync(task.file)), { name: task.name });
    } catch (error) {
      return refusal(error);
    }
    let last = -1;
    const onProgress = (p: CompileProgress) => {
      // The patch search reports often; a percent step is all a progress bar can show.
      const pct = Math.floor(p.fraction * 100);
      if (pct === last) return;
      last = pct;
      task.progress?.postMessage(p);
    };
    // Options were checked by the registry (schema, known MCU): anything thrown here is a defect.
    return { ok: true, report: compileModel(model, { ...task.options, profiles: task.profiles }, onProgress) };
  } finally {
    task.progress?.close();
  }
}
