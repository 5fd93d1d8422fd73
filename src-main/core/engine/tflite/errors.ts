/** The bytes are not a well-formed TFLite model (bad magic, truncated, offsets out of range, absurd sizes, broken graph). */
export class ModelFormatError extends Error {
  override readonly name = 'ModelFormatError';
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
}
