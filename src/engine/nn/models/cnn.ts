// A LeNet-like CNN: two conv(3×3, padding 1) + ReLU + 2×2 max-pool stages, then two Linear layers.
// Weight sharing over the output positions of each conv; the loss is per image (reduce setting
// for the convs, through the flatten + Linear head). Parameters for 1×14×14 inputs, channels
// [8, 16], hidden 64: 80 + 1,168 + 9,280 + 650 = 11,178.
import type { Variable } from '../../autograd/variable.ts';
import * as ops from '../../autograd/ops.ts';
import { Conv2d } from '../conv2d.ts';
import { Linear } from '../linear.ts';
import { Module, type LayerContext } from '../module.ts';
import { maxPool2x2 } from '../pooling.ts';

export interface CnnConfig {
  inChannels: number;
  height: number;
  width: number;
  channels?: readonly [number, number];
  hidden?: number;
  classes: number;
}

export class Cnn extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(
    ctx: LayerContext,
    readonly config: CnnConfig,
  ) {
    super(ctx);
    const [c1, c2] = config.channels ?? [8, 16];
    const hidden = config.hidden ?? 64;
    this.conv1 = this.addModule('conv1', new Conv2d(ctx, 'conv1', config.inChannels, c1, 3, { padding: 1 }));
    this.conv2 = this.addModule('conv2', new Conv2d(ctx, 'conv2', c1, c2, 3, { padding: 1 }));
    const h = Math.floor(Math.floor(config.height / 2) / 2);
    const w = Math.floor(Math.floor(config.width / 2) / 2);
    this.fc1 = this.addModule('fc1', new Linear(ctx, 'fc1', c2 * h * w, hidden));
    this.fc2 = this.addModule('fc2', new Linear(ctx, 'fc2', hidden, config.classes));
  }

  /** x: [N, C, H, W] → logits [N, classes]. */
  forward(x: Variable): Variable {
    let h = maxPool2x2(ops.relu(this.conv1.forward(x)));
    h = maxPool2x2(ops.relu(this.conv2.forward(h)));
    h = ops.reshape(h, [h.shape[0], h.value.size / h.shape[0]]);
    return this.fc2.forward(ops.relu(this.fc1.forward(h)));
  }
}
