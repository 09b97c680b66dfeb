// One training step: forward, backward, optimizer update, all inside a scope so the step's
// temporaries are released. Returns the loss tensor (not read back: callers batch their reads).
import { grad } from '../autograd/backward.ts';
import type { Variable } from '../autograd/variable.ts';
import { keep, scope, type Tensor } from '../tensor.ts';
import type { NamedParameter, Optimizer } from './optimizer.ts';
import { computeLoss } from '../nn/losses.ts';
import type { LossTargets } from '../curvature/factors.ts';
import { isKfacOptimizer } from '../curvature/kfac-optimizer.ts';

export interface TrainStepArgs {
  params: readonly NamedParameter[];
  optimizer: Optimizer;
  /** 0-based step index (schedules). */
  step: number;
  /** Builds the scalar loss from the current parameters. */
  loss: () => Variable;
}

export function trainStep({ params, optimizer, step, loss }: TrainStepArgs): Tensor {
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

export interface ForwardStepArgs {
  params: readonly NamedParameter[];
  optimizer: Optimizer;
  /** 0-based step index (schedules). */
  step: number;
  /** The model's forward pass on the batch. */
  forward: () => Variable;
  loss: LossTargets;
}

/**
 * One step of any optimizer from a forward pass and a loss spec, so that a runner drives SGD, Adam
 * and K-FAC with one loop: K-FAC takes its own trainStep (it needs the forward pass for its
 * factors), first-order optimizers the synchronous trainStep above. Returns the loss (caller disposes).
 */
export async function trainStepWithForward({ params, optimizer, step, forward, loss }: ForwardStepArgs): Promise<Tensor> {
  if (isKfacOptimizer(optimizer)) return (await optimizer.trainStep({ params, forward, loss, step })).loss;
  return trainStep({ params, optimizer, step, loss: () => computeLoss(loss.spec, forward(), loss.targets) });
}
