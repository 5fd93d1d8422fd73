/**
 * Federated learning's library layer: sparse deltas (what a device uploads, and the aggregate it
 * takes back), their binary format and validation, and the integer aggregation arithmetic of
 * synchronous (FedAvg) and buffered asynchronous (FedBuff-style) rounds. docs/rounds.md specifies
 * the format and the arithmetic; the rounds service builds on this.
 */
export { aggregateContributions, fedAvg, Q16_ONE, roundHalfAwayFromZero, type AggregateOptions, type AggregateResult, type Contribution } from './aggregate';
export { applyDelta } from './apply-delta';
export { decodeDelta, DELTA_FORMAT_VERSION, DELTA_MAGIC, encodeDelta, MAX_DELTA_BYTES, MAX_DELTA_TENSORS, type DecodedDelta, type DeltaDecodeErrorCode } from './delta-codec';
export { validateDelta, type DeltaCheck, type DeltaExpectation, type DeltaRejection } from './delta-validation';
export {
  DeltaError,
  deltaTargets,
  extractDelta,
  INT8_WEIGHT_MAX,
  INT8_WEIGHT_MIN,
  schemeCoverage,
  targetValues,
  type DeltaContext,
  type DeltaMetrics,
  type DeltaTarget,
  type DeltaTensor,
  type SparseDelta,
} from './sparse-delta';
export { checkTrainingMemory, schemesPerMcuClass, type ClassScheme, type McuClassBudget, type MemoryFit } from './memory-fit';
export { StalenessBuffer, stalenessFactorQ16, type BufferOffer, type BufferRejection, type BufferVersion, type StalenessBufferOptions } from './staleness-buffer';
