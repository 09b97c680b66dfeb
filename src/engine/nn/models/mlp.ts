// MLP on vectors (2-D toys, flattened MNIST). No weight sharing: K-FAC-expand and -reduce coincide.
// Parameters: Σ (d_i + 1) d_{i+1}; e.g. [2, 32, 32, 2] → 1,218, [196, 64, 10] → 13,258.
import type { Variable } from '../../autograd/variable.ts';
import { Linear } from '../linear.ts';
import { activate, type Activation } from '../layers.ts';
import { Module, type LayerContext } from '../module.ts';
import * as ops from '../../autograd/ops.ts';

export interface MlpConfig {
  /** Layer widths from input to output, e.g. [2, 32, 32, 2]. */
  widths: readonly number[];
  activation?: Activation;
}

export class Mlp extends Module {
  readonly layers: Linear[] = [];
  readonly activation: Activation;

  constructor(
    ctx: LayerContext,
    readonly config: MlpConfig,
  ) {
    super(ctx);
    if (config.widths.length < 2) throw new Error('Mlp: widths needs at least an input and an output size');
    this.activation = config.activation ?? 'tanh';
    for (let i = 0; i + 1 < config.widths.length; i++) {
      this.layers.push(this.addModule(`fc${i}`, new Linear(ctx, `fc${i}`, config.widths[i], config.widths[i + 1])));
    }
  }

  /** x: [N, ...] (flattened to [N, d0]) → logits [N, C]. */
  forward(x: Variable): Variable {
    let h = x.rank === 2 ? x : ops.reshape(x, [x.shape[0], x.value.size / x.shape[0]]);
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      if (i + 1 < this.layers.length) h = activate(this.activation, h);
    });
    return h;
  }
}
