/** Declarative description of a small CNN as the float trainer builds it. */

/** Activations the int8 engine can fuse into the producing op. */
export type FloatActivation = 'none' | 'relu' | 'relu6';

/** One layer; each consumes the previous layer's output (layer -1 is the model input). */
export type LayerSpec =
  | {
      kind: 'conv';
      out: number;
      kernel: [number, number];
      stride: [number, number];
      padding: 'same' | 'valid';
      act: FloatActivation;
      /** Batch norm after the conv (folded away before quantization); without it the conv has a bias. */
      bn: boolean;
    }
  | { kind: 'dwconv'; kernel: [number, number]; stride: [number, number]; padding: 'same' | 'valid'; act: FloatActivation; bn: boolean }
  /** Residual: previous output plus the output of layer `from`. */
  | { kind: 'add'; from: number }
  /** Global average pooling to [C]. */
  | { kind: 'gap' }
  /** The classifier (or any dense layer) with a bias. */
  | { kind: 'dense'; out: number; act: FloatActivation };

/** A network: input shape [H, W, C] and its layers in order. */
export interface NetSpec {
  name: string;
  inputShape: [number, number, number];
  numClasses: number;
  layers: LayerSpec[];
}

/** Output shape [H, W, C] of every layer (validating the spec on the way). */
export function layerShapes(spec: NetSpec): [number, number, number][] {
  const shapes: [number, number, number][] = [];
  let cur = spec.inputShape;
  spec.layers.forEach((layer, i) => {
    const where = `${spec.name} layer ${i} (${layer.kind})`;
    switch (layer.kind) {
      case 'conv':
      case 'dwconv': {
        const size = (inSize: number, k: number, s: number) =>
          layer.padding === 'same' ? Math.ceil(inSize / s) : Math.floor((inSize - k) / s) + 1;
        const outH = size(cur[0], layer.kernel[0], layer.stride[0]);
        const outW = size(cur[1], layer.kernel[1], layer.stride[1]);
        if (outH < 1 || outW < 1) throw new Error(`${where}: input ${cur.join('x')} is too small for its kernel`);
        cur = [outH, outW, layer.kind === 'conv' ? layer.out : cur[2]];
        break;
      }
      case 'add': {
        if (!(layer.from >= 0 && layer.from < i - 1)) throw new Error(`${where}: from=${layer.from} must name an earlier layer`);
        const other = shapes[layer.from];
        if (other.join() !== cur.join()) throw new Error(`${where}: shapes ${other.join('x')} and ${cur.join('x')} differ`);
        break;
      }
      case 'gap':
        cur = [1, 1, cur[2]];
        break;
      case 'dense':
        cur = [1, 1, layer.out];
        break;
    }
    shapes.push(cur);
  });
  const last = spec.layers[spec.layers.length - 1];
  if (!last || last.kind !== 'dense' || last.out !== spec.numClasses) {
    throw new Error(`${spec.name}: the last layer must be a dense classifier with ${spec.numClasses} outputs`);
  }
  return shapes;
}
