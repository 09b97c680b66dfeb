// The optimizer contract shared by SGD, Adam(W) and (later) K-FAC.
import type { Tensor } from '../tensor.ts';
import type { Variable } from '../autograd/variable.ts';

/** A named trainable leaf. Names are stable paths such as "blocks.0.attn.qkv.weight". */
export interface NamedParameter {
  name: string;
  variable: Variable;
}

export interface Optimizer {
  readonly name: string;
  /**
   * Apply one update: `grads[i]` is ∂L/∂params[i] (not consumed: the caller disposes it). Updates
   * each parameter with Variable.assign. `step` is the 0-based step index (for schedules).
   */
  step(params: readonly NamedParameter[], grads: readonly Tensor[], step: number): void;
  /** Release optimizer state (moments, factors). */
  dispose(): void;
}
