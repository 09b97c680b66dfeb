// SGD with optional momentum (classical or Nesterov, PyTorch's formulation without dampening) and
// coupled L2 weight decay:
//   d = g + wd·p;   v = μ v + d;   step = nesterov ? d + μ v : v;   p ← p − lr·step
// Dispatches per parameter: 2 (plain), +2 momentum, +2 Nesterov, +2 weight decay.
import type { Tensor } from '../tensor.ts';
import { FirstOrderOptimizer, type UpdateResult } from './first-order.ts';
import type { HyperValues } from './schema.ts';
import type { ScheduleSettings } from './schedules.ts';

export type SgdSettings = HyperValues<'sgd'>;

type SgdState = { velocity: Tensor } | Record<string, never>;

export class SGD extends FirstOrderOptimizer<SgdState> {
  readonly name = 'sgd';

  constructor(
    readonly settings: SgdSettings,
    schedule?: ScheduleSettings,
  ) {
    super(settings.lr, schedule);
  }

  protected update(param: Tensor, grad: Tensor, lr: number, state: SgdState | undefined): UpdateResult<SgdState> {
    const be = param.backend;
    const { momentum, nesterov, weightDecay } = this.settings;
    let direction = grad;
    if (weightDecay > 0) direction = be.binary('add', grad, be.binaryScalar('mul', param, weightDecay));
    let next: SgdState = {};
    if (momentum > 0) {
      // The first velocity is d itself (zero start); a reshape view shares the buffer, no copy needed.
      const prev = state && 'velocity' in state ? state.velocity : null;
      const velocity = prev ? be.binary('add', be.binaryScalar('mul', prev, momentum), direction) : be.reshape(direction, direction.shape);
      next = { velocity };
      direction = nesterov ? be.binary('add', direction, be.binaryScalar('mul', velocity, momentum)) : velocity;
    }
    return { param: be.binary('sub', param, be.binaryScalar('mul', direction, lr)), state: next };
  }
}
