// Gradient-norm clipping over all gradients together (PyTorch's clip_grad_norm_), computed on the
// device: scale = min(1, maxNorm / (‖g‖ + eps)) stays a tensor and multiplies every gradient, so
// clipping never waits for a read-back.
import { keep, scope, type Tensor } from '../tensor.ts';
import type { GradientOptimizer, NamedParameter, TrainStepArgs, TrainStepResult } from './optimizer.ts';
import { firstOrderTrainStep } from './train-step.ts';
import type { OptimizerHostState } from './host-state.ts';

/** ‖(g₁, …, g_P)‖₂ as a scalar tensor ([]) on the gradients' device. */
export function globalGradNorm(grads: readonly Tensor[]): Tensor {
  if (grads.length === 0) throw new Error('globalGradNorm: no gradients given');
  const be = grads[0].backend;
  return scope(() => {
    const sums = grads.map((g) => be.reshape(be.reduce('sum', be.unary('square', g), null), [1]));
    const total = sums.length === 1 ? sums[0] : be.reduce('sum', be.concat(sums, 0), null);
    return be.reshape(be.unary('sqrt', total), []);
  });
}

export interface ClipResult {
  /** New tensors (the inputs are untouched); the caller disposes them. */
  grads: Tensor[];
  /** The global norm before clipping, []. */
  norm: Tensor;
  /** The factor applied, min(1, maxNorm / (norm + eps)), []. */
  scale: Tensor;
}

/** Scale all gradients by one factor so that their global norm is at most maxNorm (> 0). */
export function clipGradNorm(grads: readonly Tensor[], maxNorm: number, eps = 1e-6): ClipResult {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new Error(`clipGradNorm: maxNorm must be a positive number, got ${maxNorm}`);
  const be = grads[0]?.backend;
  if (!be) throw new Error('clipGradNorm: no gradients given');
  return scope(() => {
    const norm = globalGradNorm(grads);
    const scale = be.binaryScalar('min', be.binaryScalar('div', be.binaryScalar('add', norm, eps), maxNorm, true), 1);
    return { grads: grads.map((g) => be.binary('mul', g, scale)), norm, scale };
  });
}

/** An optimizer that clips the gradients' global norm before delegating to `inner`. */
export class ClippedOptimizer implements GradientOptimizer {
  private norm: Tensor | null = null;
  timing = false;

  constructor(
    readonly inner: GradientOptimizer,
    readonly maxNorm: number,
  ) {
    if (!(maxNorm > 0)) throw new Error(`ClippedOptimizer: maxNorm must be positive, got ${maxNorm}`);
  }

  get name(): string {
    return this.inner.name;
  }

  /** The global gradient norm seen by the latest step (before clipping), on the device; null before the first. */
  get lastNorm(): Tensor | null {
    return this.norm;
  }

  trainStep(args: TrainStepArgs): Promise<TrainStepResult> {
    return firstOrderTrainStep(this, args);
  }

  step(params: readonly NamedParameter[], grads: readonly Tensor[], step: number): void {
    scope(() => {
      const clipped = clipGradNorm(grads, this.maxNorm);
      this.norm?.dispose();
      this.norm = keep(clipped.norm);
      this.inner.step(params, clipped.grads, step);
    });
  }

  /** The inner optimizer's state (the last norm is a reading, not state). */
  exportState(params: readonly NamedParameter[]): Promise<OptimizerHostState> {
    return this.inner.exportState(params);
  }

  importState(params: readonly NamedParameter[], state: OptimizerHostState): void {
    this.inner.importState(params, state);
  }

  dispose(): void {
    this.norm?.dispose();
    this.norm = null;
    this.inner.dispose();
  }
}

/** `inner` itself when maxNorm is 0 (clipping off, the schema's 'clip.maxNorm' default), else a ClippedOptimizer. */
export function withGradClipping(inner: GradientOptimizer, maxNorm: number): GradientOptimizer {
  return maxNorm === 0 ? inner : new ClippedOptimizer(inner, maxNorm);
}
