/**
 * The engine's public entry for other domains (deploy, models): what they may call without reaching
 * into the engine's folders. Other exports are reached by path as before.
 */
export { modelDigest } from './model-digest';
export { bestFittingPlan, checkFit, type BestFittingPlan, type BestFittingPlanOptions, type FitResult } from './fit';
