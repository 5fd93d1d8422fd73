import type { Model } from '../../engine/ir';
import { analyseGraph } from '../sparse/graph';
import type { SparseScheme } from '../sparse/scheme';

/** The reference schemes of the experiments, resolved on a model. */
export interface StandardSchemes {
  classifier: SparseScheme;
  biasOnly: SparseScheme;
  sparse: SparseScheme;
  full: SparseScheme;
}

/**
 * - classifier: the last layer only;
 * - bias-only: every bias plus the classifier (no activations kept for weight gradients);
 * - sparse: the biases of the last two thirds of the layers, the weights of the last three
 *   CONV_2D layers at input-channel ratios 1/2, 1/4, 1/4 (last first), and the classifier;
 * - full: every bias and every CONV_2D weight (depthwise weights stay frozen) and the classifier.
 */
export function standardSchemes(model: Model): StandardSchemes {
  const { layers } = analyseGraph(model);
  const convs = layers.filter((l) => l.kind === 'CONV_2D');
  const lastConvs = convs.slice(-3).reverse();
  const ratios = [0.5, 0.25, 0.25] as const;
  return {
    classifier: { biasLastN: 0, weights: [], classifier: true },
    biasOnly: { biasLastN: layers.length, weights: [], classifier: true },
    sparse: {
      biasLastN: Math.ceil((2 * layers.length) / 3),
      weights: lastConvs.map((l, i) => ({ op: l.opIndex, ratio: ratios[i] })),
      classifier: true,
    },
    full: { biasLastN: layers.length, weights: convs.map((l) => ({ op: l.opIndex, ratio: 1 as const })), classifier: true },
  };
}
