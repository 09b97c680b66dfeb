// Adam and AdamW (Kingma & Ba; Loshchilov & Hutter) with bias correction:
//   m = β₁ m + (1−β₁) g;   v = β₂ v + (1−β₂) g²;   m̂ = m / (1−β₁ᵗ);   v̂ = v / (1−β₂ᵗ)
//   p ← p − lr · m̂ / (√v̂ + ε)
// Adam's weight decay is coupled (g += wd·p before the moments); AdamW's is decoupled
// (p ← p (1 − lr·wd) before the step). The bias corrections are folded into two scalars,
// m̂/(√v̂ + ε) = (√(1−β₂ᵗ)/(1−β₁ᵗ)) · m / (√v + ε√(1−β₂ᵗ)), so the update costs 12 dispatches per
// parameter (+1 decoupled or +2 coupled decay). t counts each parameter's own updates.
import type { Tensor } from '../tensor.ts';
import { FirstOrderOptimizer, type UpdateResult } from './first-order.ts';
import type { HyperValues } from './schema.ts';
import type { ScheduleSettings } from './schedules.ts';

export type AdamSettings = HyperValues<'adam'>;
export type AdamWSettings = HyperValues<'adamw'>;

interface AdamState {
  [key: string]: Tensor | number;
  /** First moment (running mean of gradients). */
  m: Tensor;
  /** Second moment (running mean of squared gradients). */
  v: Tensor;
  /** Updates this parameter has had, for bias correction. */
  t: number;
}

/** The shared update of Adam and AdamW; they differ only in how weight decay enters. */
export abstract class AdamFamily extends FirstOrderOptimizer<AdamState> {
  constructor(
    readonly settings: AdamSettings | AdamWSettings,
    readonly decoupledWeightDecay: boolean,
    schedule?: ScheduleSettings,
  ) {
    super(settings.lr, schedule);
  }

  protected update(param: Tensor, grad: Tensor, lr: number, state: AdamState | undefined): UpdateResult<AdamState> {
    const be = param.backend;
    const { beta1, beta2, eps, weightDecay } = this.settings;
    const g = !this.decoupledWeightDecay && weightDecay > 0 ? be.binary('add', grad, be.binaryScalar('mul', param, weightDecay)) : grad;
    const gScaled = be.binaryScalar('mul', g, 1 - beta1);
    const m = state ? be.binary('add', be.binaryScalar('mul', state.m, beta1), gScaled) : gScaled;
    const g2Scaled = be.binaryScalar('mul', be.unary('square', g), 1 - beta2);
    const v = state ? be.binary('add', be.binaryScalar('mul', state.v, beta2), g2Scaled) : g2Scaled;
    const t = (state?.t ?? 0) + 1;
    const sqrtCorrection2 = Math.sqrt(1 - Math.pow(beta2, t));
    const correction1 = 1 - Math.pow(beta1, t);
    const denom = be.binaryScalar('add', be.unary('sqrt', v), eps * sqrtCorrection2);
    const ratio = be.binary('div', m, denom);
    const decayed = this.decoupledWeightDecay && weightDecay > 0 ? be.binaryScalar('mul', param, 1 - lr * weightDecay) : param;
    const next = be.binary('sub', decayed, be.binaryScalar('mul', ratio, (lr * sqrtCorrection2) / correction1));
    return { param: next, state: { m, v, t } };
  }
}

export class Adam extends AdamFamily {
  readonly name = 'adam';
  constructor(settings: AdamSettings, schedule?: ScheduleSettings) {
    super(settings, false, schedule);
  }
}

export class AdamW extends AdamFamily {
  readonly name = 'adamw';
  constructor(settings: AdamWSettings, schedule?: ScheduleSettings) {
    super(settings, true, schedule);
  }
}
