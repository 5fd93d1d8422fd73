/** What is wrong with a file that is not a well-formed TFLite model, in the words a person needs. */
export type ModelFormatProblem = 'not-tflite' | 'truncated' | 'malformed';

const PROBLEM_SUMMARIES: Record<ModelFormatProblem, string> = {
  'not-tflite': 'the file is not a TFLite model',
  truncated: 'the file is truncated: it ends before the data it refers to',
  malformed: 'the file is a damaged or malformed TFLite model',
};

/**
 * The bytes are not a well-formed TFLite model (bad magic, truncated, offsets out of range, absurd
 * sizes, broken graph). `message` is precise (what, where); `summary` says it for people.
 */
export class ModelFormatError extends Error {
  override readonly name = 'ModelFormatError';
  constructor(
    message: string,
    readonly problem: ModelFormatProblem = 'malformed',
  ) {
    super(message);
  }

  /** One human sentence for the problem (the UI's headline; `message` goes in its details). */
  get summary(): string {
    return PROBLEM_SUMMARIES[this.problem];
  }
}

/** One op the engine cannot run, with its node index and, when relevant, why (e.g. a dtype). */
export interface UnsupportedOp {
  node: number;
  /** TFLite builtin name, or `CUSTOM "code"` for custom ops. */
  op: string;
  detail?: string;
}

/** The model is well formed but uses ops the engine does not implement; names every one of them. */
export class UnsupportedOpError extends Error {
  override readonly name = 'UnsupportedOpError';
  constructor(readonly ops: UnsupportedOp[]) {
    super(`unsupported ops: ${ops.map((o) => `${o.op}${o.detail ? ` (${o.detail})` : ''} at node ${o.node}`).join('; ')}`);
  }

  /** One human sentence naming the ops (each once); `message` has every node and reason. */
  get summary(): string {
    return `the model uses ops TinyFleet cannot run: ${[...new Set(this.ops.map((o) => o.op))].join(', ')}`;
  }
}
