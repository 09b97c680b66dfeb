// Conv2d as unfold (im2col) + the Linear core: the weight is [Cout, Cin·kH·kW] and the shared
// dim is the output positions, exactly the K-FAC view of a convolution (docs/kfac.md §1).
import type { Conv2dGeometry } from '../backend/backend.ts';
import * as ops from '../autograd/ops.ts';
import type { Variable } from '../autograd/variable.ts';
import { resolveConv2d } from '../shape-rules/layout.ts';
import { Linear } from './linear.ts';
import type { LayerContext } from './module.ts';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  bias?: boolean;
}

export class Conv2d extends Linear {
  readonly geometry: Conv2dGeometry;

  constructor(
    ctx: LayerContext,
    name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: Conv2dOptions = {},
  ) {
    super(ctx, name, inChannels * kernelSize * kernelSize, outChannels, {
      bias: options.bias,
      init: 'kaiming-uniform',
      sharedDims: ['positions'],
    });
    const stride = options.stride ?? 1;
    const pad = options.padding ?? 0;
    const dilation = options.dilation ?? 1;
    this.geometry = {
      kernelH: kernelSize,
      kernelW: kernelSize,
      strideH: stride,
      strideW: stride,
      padH: pad,
      padW: pad,
      dilationH: dilation,
      dilationW: dilation,
    };
  }

  /** x: [N, Cin, H, W] → [N, Cout, outH, outW]. */
  override forward(x: Variable): Variable {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(`${this.name}: expected [N, ${this.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    }
    const { outH, outW } = resolveConv2d(x.shape, this.geometry, this.name);
    const n = x.shape[0];
    const cols = ops.im2col(x, this.geometry); // [N, P, Cin·k·k]
    const s = this.forwardRows(cols, { kind: 'dense', examples: n, positions: outH * outW }); // [N, P, Cout]
    return ops.permute(ops.reshape(s, [n, outH, outW, this.outChannels]), [0, 3, 1, 2]);
  }
}
