/**
 * What a forward pass leaves behind for the backward pass: the logits, the activations kept for
 * weight gradients and the 1-bit clamp masks, all real-valued views. The int8 graph (the device)
 * and its float equivalent (for gradient checks) both produce one.
 */
export interface ForwardTrace {
  /** Real-valued logits. */
  logits: Float32Array;
  /** Real values of a kept activation (full tensor layout; only the kept channels are non-zero). */
  activation(tensor: number): Float32Array;
  /** 1 where the gradient passes the fused clamp that produced `tensor`, 0 where it is clamped. */
  mask(tensor: number): Uint8Array;
}
