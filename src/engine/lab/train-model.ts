// Train one model you built on a batch source, with any optimizer of the schema: the training loop
// the curvature tools share (retraining on subsets for influence's LDS, fine-tuning after pruning,
// the memorisation experiments, baselines), with the race's step (optim/optimizer.ts: trainStep)
// and the race's batch order (a seeded BatchSampler). The race itself runs several models side by
// side through Experiment (experiment.ts); this is the one-model loop without evaluation or clocks
// per phase.
//
//   const placed = (await loadTask('mlp-mnist')).place(backend);
//   const model = placed.buildModel(1);
//   const { losses } = await trainModel({
//     model, batch: (rows) => placed.batch(model, rows), examples: subset, batchSize: 64, steps: 200, seed: 1,
//     optimizer: 'adam', hyper: { lr: 2e-3 },
//   });
import { readAndDispose, scope, type Tensor } from '../tensor.ts';
import type { Module, NamedParameter } from '../nn/module.ts';
import type { GradientOptimizer, Optimizer } from '../optim/optimizer.ts';
import { firstOrderTrainStep } from '../optim/train-step.ts';
import { createOptimizer } from '../optim/factory.ts';
import type { ScheduleSettings } from '../optim/schedules.ts';
import type { OptimizerId } from '../optim/schema.ts';
import { BatchSampler } from '../data/sampler.ts';
import { throwIfAborted, yieldToEventLoop } from '../curvature/data.ts';
import type { TrainBatch } from './tasks/definition.ts';

export interface TrainModelOptions {
  model: Module;
  /** The training batch of these example indices (e.g. `(rows) => placed.batch(model, rows)`); disposed after its step. */
  batch: (indices: Int32Array) => TrainBatch;
  /** Which examples to train on: the first n (a count) or these indices (a subset, e.g. half the data). */
  examples: number | Int32Array;
  batchSize: number;
  steps: number;
  /** Seeds the batch order (the model's initial weights are the caller's). */
  seed: number;
  optimizer: OptimizerId;
  /** Hyperparameters of the optimizer (schema defaults fill the gaps; invalid values throw). */
  hyper?: Record<string, unknown>;
  schedule?: Partial<ScheduleSettings>;
  /** Checked before every step; aborting rejects with an AbortError. */
  signal?: AbortSignal;
  /**
   * Called after every step (0-based) with its loss, once the parameters are updated: progress, or a
   * change to the weights between steps (a pruning mask re-applied). Awaited.
   */
  onStep?: (step: number, loss: number) => void | Promise<void>;
  /**
   * A Gaussian prior as the regulariser (first-order optimizers only): the objective becomes the
   * batch loss + ½ Σ_p ρ_p ‖θ_p‖², with ρ_p = `prior(p)` read at every step (so it may change between
   * steps, as the marginal-likelihood training's learned precisions do); its gradient ρ_p θ_p is added
   * to each parameter's gradient before the optimizer's update. 0 leaves a parameter unregularised.
   */
  prior?: (param: NamedParameter) => number;
}

export interface TrainModelResult {
  /** The training loss of every step. */
  losses: number[];
  /** Wall-clock of the whole loop (ms). */
  ms: number;
}

/** Training stopped because a step's loss was not finite. */
export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
  ) {
    super(`training diverged: the loss of step ${step + 1} is ${loss}`);
    this.name = 'TrainingDivergedError';
  }
}

/** Train `model` in place for `steps` steps; the optimizer is built here and disposed at the end. */
export async function trainModel(options: TrainModelOptions): Promise<TrainModelResult> {
  const { model, steps, signal, onStep } = options;
  if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`trainModel: steps must be a whole number ≥ 0, got ${steps}`);
  const rows = typeof options.examples === 'number' ? Int32Array.from({ length: options.examples }, (_, i) => i) : options.examples;
  if (rows.length === 0) throw new Error('trainModel: no training examples');
  const sampler = new BatchSampler({
    size: rows.length,
    batchSize: Math.min(options.batchSize, rows.length),
    seed: options.seed,
    dropLast: true,
  });
  // The seed also seeds K-FAC's Monte Carlo labels, as in the race (experiment.ts).
  const created = createOptimizer(options.optimizer, options.hyper ?? {}, { schedule: options.schedule, seed: options.seed });
  const optimizer = options.prior ? withPrior(created, options.prior) : created;
  optimizer.timing = false;
  const params = model.parameters();
  const losses: number[] = [];
  const start = performance.now();
  try {
    for (let step = 0; step < steps; step++) {
      throwIfAborted(signal, 'training');
      // The sampler shuffles positions in `rows`; the batch gets the examples at those positions.
      const positions = sampler.batchAtStep(step).indices;
      const indices = positions.map((p) => rows[p]);
      const batch = options.batch(indices);
      let loss: number;
      try {
        const out = await optimizer.trainStep({ params, forward: batch.forward, loss: batch.loss, step });
        loss = (await readAndDispose(out.loss))[0];
      } finally {
        batch.dispose();
      }
      if (!Number.isFinite(loss)) throw new TrainingDivergedError(step, loss);
      losses.push(loss);
      await onStep?.(step, loss);
      // A worker must still read its cancel message while a CPU-backend step never leaves the microtask queue.
      if (signal) await yieldToEventLoop();
    }
  } finally {
    optimizer.dispose();
  }
  return { losses, ms: performance.now() - start };
}

/**
 * The optimizer with ∇(½ ρ_p ‖θ_p‖²) = ρ_p θ_p added to every gradient before its update (the
 * `prior` option): the same step as the optimizer's own, on the regularised objective.
 */
function withPrior(inner: Optimizer, prior: (param: NamedParameter) => number): Optimizer {
  if (!('step' in inner)) throw new Error(`trainModel: prior needs a first-order optimizer, got ${inner.name}`);
  const gradientOptimizer = inner as GradientOptimizer;
  const wrapped: GradientOptimizer = {
    name: inner.name,
    get timing() {
      return inner.timing;
    },
    set timing(on: boolean) {
      inner.timing = on;
    },
    step(params, grads, step) {
      // The regularised gradients are temporaries of this scope; the optimizer keeps what it needs.
      scope(() => {
        const regularised = grads.map((g, i): Tensor => {
          const rho = prior(params[i]);
          return rho > 0 ? g.backend.binary('add', g, g.backend.binaryScalar('mul', params[i].variable.value, rho)) : g;
        });
        gradientOptimizer.step(params, regularised, step);
      });
    },
    trainStep: (args) => firstOrderTrainStep(wrapped, args),
    exportState: (params) => inner.exportState(params),
    importState: (params, state) => inner.importState(params, state),
    dispose: () => inner.dispose(),
  };
  return wrapped;
}
