import { z } from 'zod';
import { defineCall, defineEvent } from './define';

/** How `demo.start` runs the demo. */
export const DemoOptions = z.object({
  /** Simulated devices, spread over the demo's MCU classes in turn. */
  devices: z.number().int().min(4).max(200).default(24),
  /** A tiny training recipe (seconds instead of a minute; lower accuracy): tests and quick looks. */
  fast: z.boolean().default(false),
});
export type DemoOptions = z.infer<typeof DemoOptions>;

export const DemoStepState = z.enum(['pending', 'running', 'done', 'skipped', 'failed', 'canceled']);
export type DemoStepState = z.infer<typeof DemoStepState>;

/** One step of the demo's narration. */
export const DemoStep = z.object({
  id: z.enum(['fleet', 'model', 'deploy', 'rounds', 'personalize', 'summary']),
  title: z.string(),
  /** One sentence: what the step shows. */
  explains: z.string(),
  state: DemoStepState,
  /** 0..1 within the step. */
  progress: z.number().min(0).max(1),
  /** What is happening now (while running). */
  detail: z.string().nullable(),
  /** What came out (when done, skipped or failed). */
  result: z.string().nullable(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
});
export type DemoStep = z.infer<typeof DemoStep>;

/** A row of the closing table. */
export const DemoFigure = z.object({ label: z.string(), value: z.string() });
export type DemoFigure = z.infer<typeof DemoFigure>;

/** The demo's run: its steps and the closing table. */
export const DemoStatus = z.object({
  state: z.enum(['idle', 'running', 'done', 'failed', 'canceled']),
  options: DemoOptions.nullable(),
  steps: z.array(DemoStep),
  figures: z.array(DemoFigure),
  error: z.string().nullable(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
});
export type DemoStatus = z.infer<typeof DemoStatus>;

/** The guided demo: a simulated fleet, a trained model, a deployment in waves, fleet learning. */
export const demoCalls = {
  'demo.start': defineCall({
    summary: 'Start the guided demo (no hardware, no network); fails while one runs',
    input: DemoOptions.default(DemoOptions.parse({})),
    output: DemoStatus,
  }),
  'demo.cancel': defineCall({ summary: 'Cancel the running demo (what it created stays)', input: z.object({}).default({}), output: DemoStatus }),
  'demo.status': defineCall({ summary: 'The demo run: steps, progress, results', input: z.object({}).default({}), output: DemoStatus }),
};

export const demoEvents = {
  'demo.progress': defineEvent({ summary: 'The demo run changed (a step progressed, ended or the run ended)', payload: DemoStatus, keyed: false }),
};
