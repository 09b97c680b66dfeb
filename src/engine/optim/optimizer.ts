// The optimizer contract (docs/architecture.md): every optimizer — SGD, Adam(W), K-FAC — takes one
// training step from the model's forward pass and the loss, so a runner drives all of them with one
// loop. K-FAC needs the forward pass itself (its factors come from a capture of it); first-order
// optimizers reach the same contract through `firstOrderTrainStep` (train-step.ts) and additionally
// expose the update from finished gradients (`GradientOptimizer.step`), which K-FAC uses for the
// parameters no K-FAC layer covers. What an optimizer offers beyond the step is a capability on the
// contract (`curvature`), so callers never branch on an optimizer's class.
import type { Variable } from '../autograd/variable.ts';
import type { FactorSource } from '../curvature/snapshot.ts';
import type { LossTargets } from '../nn/losses.ts';
import type { NamedParameter } from '../nn/module.ts';
import type { Tensor } from '../tensor.ts';
import type { OptimizerHostState } from './host-state.ts';

export type { NamedParameter } from '../nn/module.ts';

/** Milliseconds per phase of one step (first-order: forward, backward, update; K-FAC: KFAC_PHASES). */
export type StepPhaseTimes = Record<string, number>;

export interface TrainStepArgs {
  /** Trainable parameters, in a fixed order. */
  params: readonly NamedParameter[];
  /** The model's forward pass on the batch (called once per step; K-FAC's adaptive damping calls it again). */
  forward: () => Variable;
  loss: LossTargets;
  /** 0-based step index (schedules). */
  step: number;
}

export interface TrainStepResult {
  /** The batch loss before the update ([]); untracked, the caller disposes it. */
  loss: Tensor;
  /** This step's phase times when timing is on. */
  phaseMs?: StepPhaseTimes;
  /** K-FAC: ν of this step's KL clip (1 when off or not binding; docs/kfac.md §4). First-order optimizers leave it out. */
  klScale?: number;
}

/**
 * The Kronecker factors an optimizer keeps per layer while it trains (K-FAC's running averages):
 * what the lab's curvature panel lists and snapshots (engine/curvature/snapshot.ts).
 */
export interface OptimizerCurvature extends FactorSource {
  /** Layer paths with factors, in the order the optimizer met them (empty before its first factor step). */
  readonly layerNames: readonly string[];
}

export interface Optimizer {
  readonly name: string;
  /** Present when the optimizer keeps Kronecker factors per layer (K-FAC); first-order optimizers have none. */
  readonly curvature?: OptimizerCurvature;
  /** Measure per-phase times (a device sync after each phase); off by default. */
  timing: boolean;
  /** Forward, backward and update of one step. */
  trainStep(args: TrainStepArgs): Promise<TrainStepResult>;
  /** Copy the state a later step depends on to the host (parameters identified by name). */
  exportState(params: readonly NamedParameter[]): Promise<OptimizerHostState>;
  /**
   * Take over state exported by the same kind of optimizer, possibly from another backend, for
   * `params` (the same names and shapes). Replaces any current state.
   */
  importState(params: readonly NamedParameter[], state: OptimizerHostState): void;
  /** Release optimizer state (moments, factors). */
  dispose(): void;
}

/** A first-order optimizer: also updates from finished gradients. */
export interface GradientOptimizer extends Optimizer {
  /**
   * Apply one update: `grads[i]` is ∂L/∂params[i] (not consumed: the caller disposes it). Updates
   * each parameter with Variable.assign. `step` is the 0-based step index (for schedules).
   */
  step(params: readonly NamedParameter[], grads: readonly Tensor[], step: number): void;
}
