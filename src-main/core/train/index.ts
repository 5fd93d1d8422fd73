/**
 * The training domain's public entry: base models, one device's local sparse update, scheme
 * resolution and search, training memory, the experiments and the worker pool. The CLI and the
 * services (federated rounds) import from here; the folders behind it are the domain's own.
 */
export { baseOptimizer, resolveRecipe, taskOptionsOf, trainBaseModel, type BaseModel, type BaseModelRecipe } from './base-model';
export { createDeviceData, type DeviceData, type DeviceDataOptions } from './data/device-data';
export { createTask } from './data/tasks';
export type { Sample, Task, TaskId } from './data/task';
export { personalizationExperiment, type PersonalizationResult, type SchemeArm } from './experiments/personalization';
export { qasSweep } from './experiments/qas-sweep';
export { schemeTable, standardTableArms, type SchemeRow, type SchemeTable } from './experiments/scheme-table';
export { standardSchemes, type StandardSchemes } from './experiments/standard-schemes';
export type { FloatProgress } from './float/trainer';
export { trainLocal, type LayerUpdateSummary, type LocalTrainingOptions, type LocalTrainingResult } from './local';
export { TrainingMemoryEstimator, type TrainingMemory } from './memory/estimator';
export { taskOfInt8Model, taskOfModel } from './model-task';
export { readModelFile, writeModelFile, type LoadedModel } from './quant/model-file';
export { cloneModel } from './quant/model-io';
export { CALIBRATION_SEED_BASE, DEFAULT_CALIBRATION, calibrationSplit, measureCalibratedContributions, searchSchemeForBudget, type CalibrationOptions } from './scheme/calibration';
export { SCHEME_NAMES, isSchemeName, resolveScheme, type SchemeName, type SchemeSpec } from './scheme/resolve';
export { measureContributions, searchScheme, type Contributions, type SchemeChoice } from './scheme/search';
export { analyseGraph, type TrainGraph, type TrainableLayer } from './sparse/graph';
export { planBackward, type BackwardPlan, type LayerUpdate } from './sparse/plan';
export { int32View, int8View } from './sparse/real-params';
export { describeScheme, validateScheme, type SparseScheme } from './sparse/scheme';
export { TrainingPool } from './worker/pool';
export { evaluateOnServer } from './server-evaluation';
