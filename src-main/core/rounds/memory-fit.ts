import { describeScheme, searchScheme, type Contributions, type SparseScheme, type TrainingMemory, type TrainingMemoryEstimator } from '../train';

/**
 * Whether a device can train a scheme: the scheme's training memory (the estimator's training
 * extra: saved activations, masks, updated biases and weights, the gradient workspace's excess)
 * plus the inference arena must fit the SRAM the device reports free (`sramFree` of its birth,
 * what is left after its firmware and runtime, the figure a package's arena is checked against).
 */
export type MemoryFit =
  | { ok: true; requiredBytes: number; freeSramBytes: number; memory: TrainingMemory }
  | { ok: false; code: 'INSUFFICIENT_MEMORY'; message: string; requiredBytes: number; freeSramBytes: number; memory: TrainingMemory };

/** Checks a scheme's training memory against a device's free SRAM (what answers INSUFFICIENT_MEMORY). */
export function checkTrainingMemory(estimator: TrainingMemoryEstimator, scheme: SparseScheme, freeSramBytes: number): MemoryFit {
  const memory = estimator.estimate(scheme);
  const requiredBytes = memory.totalBytes;
  if (requiredBytes <= freeSramBytes) return { ok: true, requiredBytes, freeSramBytes, memory };
  return {
    ok: false,
    code: 'INSUFFICIENT_MEMORY',
    message: `training ${describeScheme(scheme)} needs ${requiredBytes} bytes of SRAM (arena ${memory.forwardArenaBytes} + training ${memory.trainingExtraBytes}); ${freeSramBytes} are free`,
    requiredBytes,
    freeSramBytes,
    memory,
  };
}

/** An MCU class of a round's cohort and the SRAM its devices have free (the least among them). */
export interface McuClassBudget {
  mcu: string;
  freeSramBytes: number;
}

/** The scheme a class trains, or why it cannot take part. */
export type ClassScheme =
  | { mcu: string; ok: true; scheme: SparseScheme; expectedGain: number; memory: TrainingMemory; freeSramBytes: number }
  | { mcu: string; ok: false; code: 'INSUFFICIENT_MEMORY'; message: string; freeSramBytes: number };

/**
 * Heterogeneous schemes: for each MCU class, the scheme of largest expected gain (the training
 * library's search over measured contributions) whose training memory plus the arena fits the
 * class's free SRAM. Contributions are measured once per model (measureCalibratedContributions) and
 * shared by every class; a class too small even for the classifier alone is refused by name.
 */
export function schemesPerMcuClass(estimator: TrainingMemoryEstimator, contributions: Contributions, classes: readonly McuClassBudget[]): ClassScheme[] {
  return classes.map(({ mcu, freeSramBytes }) => {
    const budget = freeSramBytes - estimator.forwardArenaBytes;
    const minimal: SparseScheme = { biasLastN: 0, weights: [], classifier: true };
    const floor = checkTrainingMemory(estimator, minimal, freeSramBytes);
    if (!floor.ok) return { mcu, ok: false, code: 'INSUFFICIENT_MEMORY', message: `${mcu}: even the classifier alone does not fit: ${floor.message}`, freeSramBytes };
    const choice = searchScheme(estimator.model, contributions, budget);
    return { mcu, ok: true, scheme: choice.scheme, expectedGain: choice.expectedGain, memory: choice.memory, freeSramBytes };
  });
}
