import type { z } from 'zod';

/**
 * A call of the app API: its input and output schemas. The dispatcher parses every input with
 * `input` at the boundary, so a handler only ever sees valid data.
 */
export interface CallSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  input: I;
  output: O;
  /** One line for humans (CLI help, docs). */
  summary: string;
}

/**
 * An event the core pushes to its clients. A keyed event is subscribed per key
 * (`fleet.telemetry/<deviceId>`): the core only produces it while someone listens to that key.
 */
export interface EventSpec<P extends z.ZodType = z.ZodType, K extends boolean = boolean> {
  payload: P;
  keyed: K;
  summary: string;
}

/** Declares a call; keeps the literal schema types for inference. */
export function defineCall<I extends z.ZodType, O extends z.ZodType>(spec: CallSpec<I, O>): CallSpec<I, O> {
  return spec;
}

/** Declares an event; keeps the literal schema type and `keyed` flag for inference (KeyedEventName). */
export function defineEvent<P extends z.ZodType, K extends boolean>(spec: EventSpec<P, K>): EventSpec<P, K> {
  return spec;
}
