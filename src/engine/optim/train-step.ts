// The training step of first-order optimizers, in two forms:
// - `trainStep`: forward, backward and update inside one scope, synchronous; for scripts that build
//   the loss themselves and read nothing per step (examples, the learning tests, benchmarks).
// - `firstOrderTrainStep`: the Optimizer contract's step (optimizer.ts) for every first-order
//   optimizer. With `timing` on it syncs the device after the forward pass, the backward pass and the
//   update, the same phase boundaries K-FAC reports, so the lab shows where SGD and Adam spend time.
import { grad } from '../autograd/backward.ts';
import type { Variable } from '../autograd/variable.ts';
import type { Backend } from '../backend/backend.ts';
import { computeLoss } from '../nn/losses.ts';
import { keep, scope, TensorArena, type Tensor } from '../tensor.ts';
import type { GradientOptimizer, NamedParameter, StepPhaseTimes, TrainStepArgs, TrainStepResult } from './optimizer.ts';

export interface ClosureStepArgs {
  params: readonly NamedParameter[];
  optimizer: GradientOptimizer;
  /** 0-based step index (schedules). */
  step: number;
  /** Builds the scalar loss from the current parameters. */
  loss: () => Variable;
}

/** One synchronous step; returns the loss tensor (not read back: callers batch their reads; caller disposes). */
export function trainStep({ params, optimizer, step, loss }: ClosureStepArgs): Tensor {
  return scope(() => {
    const value = loss();
    const grads = grad(
      value,
      params.map((p) => p.variable),
    );
    optimizer.step(params, grads, step);
    return keep(value.value);
  });
}

/** Phases of a first-order step (K-FAC reports KFAC_PHASES). */
export const FIRST_ORDER_PHASES = ['forward', 'backward', 'update'] as const;
export type FirstOrderPhase = (typeof FIRST_ORDER_PHASES)[number];

/** Adds the time since the previous lap to a phase, after waiting for the device to finish its work. */
export class PhaseTimer<P extends string> {
  private last = performance.now();

  constructor(
    private readonly backend: Backend,
    readonly times: Record<P, number>,
  ) {}

  async lap(phase: P): Promise<void> {
    await this.backend.sync();
    const now = performance.now();
    this.times[phase] += now - this.last;
    this.last = now;
  }
}

/** The Optimizer contract's step for a first-order optimizer (see the file comment). */
export async function firstOrderTrainStep(
  optimizer: GradientOptimizer,
  { params, forward, loss, step }: TrainStepArgs,
): Promise<TrainStepResult> {
  if (params.length === 0) throw new Error(`${optimizer.name}.trainStep: no parameters`);
  const timer = optimizer.timing
    ? new PhaseTimer<FirstOrderPhase>(params[0].variable.backend, { forward: 0, backward: 0, update: 0 })
    : null;
  const arena = new TensorArena();
  try {
    const value = arena.run(() => computeLoss(loss.spec, forward(), loss.targets));
    await timer?.lap('forward');
    const grads = arena.run(() =>
      grad(
        value,
        params.map((p) => p.variable),
      ),
    );
    await timer?.lap('backward');
    arena.run(() => optimizer.step(params, grads, step));
    await timer?.lap('update');
    const phaseMs: StepPhaseTimes | undefined = timer ? { ...timer.times } : undefined;
    return { loss: arena.release(value.value), phaseMs };
  } finally {
    arena.dispose();
  }
}
