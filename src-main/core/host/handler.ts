import type { CallName, CallOutput, ParsedCallInput } from '../contract';

/** Who is calling and how to give up: passed to every handler. */
export interface CallContext {
  /** Recorded in the audit log ('operator' for UI users, 'cli', 'test'). */
  actor: string;
  signal?: AbortSignal;
}

/** Implements one call of the contract; receives input already parsed by its schema. */
export type Handler<N extends CallName> = (
  input: ParsedCallInput<N>,
  ctx: CallContext,
) => Promise<CallOutput<N>> | CallOutput<N>;

/** Handlers for a set of calls; each domain provides its own and the composition root merges them. */
export type Handlers<N extends CallName> = { [K in N]: Handler<K> };
