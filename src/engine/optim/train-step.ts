// One training step: forward, backward, optimizer update, all inside a scope so the step's
// temporaries are released. Returns the loss tensor (not read back: callers batch their reads).
import { grad } from '../autograd/backward.ts';
import type { Variable } from '../autograd/variable.ts';
import { keep, scope, type Tensor } from '../tensor.ts';
import type { NamedParameter, Optimizer } from './optimizer.ts';

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
