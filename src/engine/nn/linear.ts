// Linear: s = W a + b on inputs [N, R..., dIn]. The dims between the first and the last are the
// weight-sharing dims (tokens, patches, nodes); the layer reports them to the curvature hook.
import * as ops from '../autograd/ops.ts';
import type { Variable } from '../autograd/variable.ts';
import { reportLinearForward, isCapturingCurvature, type KfacLayerInfo, type SharingLayout } from './curvature-hook.ts';
import { deriveSeed, initValues, type InitKind } from './init.ts';
import { Module, type LayerContext } from './module.ts';

export interface LinearOptions {
  bias?: boolean;
  init?: InitKind;
  /** Names of the shared dims for display, e.g. ['tokens']. */
  sharedDims?: readonly string[];
}

export class Linear extends Module {
  readonly weight: Variable;
  readonly bias: Variable | null;
  readonly kfacInfo: KfacLayerInfo;

  constructor(
    ctx: LayerContext,
    readonly name: string,
    readonly dIn: number,
    readonly dOut: number,
    options: LinearOptions = {},
  ) {
    super(ctx);
    const init = options.init ?? 'kaiming-uniform';
    this.weight = this.addParameter('weight', initValues(init, dOut * dIn, dIn, dOut, deriveSeed(ctx.seed, `${name}.weight`)), [dOut, dIn]);
    this.bias = options.bias === false ? null : this.addParameter('bias', new Float64Array(dOut), [dOut]);
    this.kfacInfo = {
      name,
      weight: { name: `${name}.weight`, variable: this.weight },
      bias: this.bias ? { name: `${name}.bias`, variable: this.bias } : null,
      sharedDims: options.sharedDims ?? [],
    };
  }

  /** x: [N, R..., dIn] → [N, R..., dOut]. */
  forward(x: Variable): Variable {
    const shape = x.shape;
    if (shape[shape.length - 1] !== this.dIn) {
      throw new Error(`${this.name}: expected inputs [..., ${this.dIn}], got [${shape.join(', ')}]`);
    }
    const rows = x.value.size / this.dIn;
    const n = shape.length > 1 ? shape[0] : 1;
    return this.forwardRows(x, { kind: 'dense', examples: n, positions: rows / Math.max(n, 1) });
  }

  /**
   * The linear core on rows: x viewed as [rows, dIn] with a sharing layout (Conv2d and GCN call
   * this with their own layouts). Returns the output in x's leading shape with dOut last.
   */
  forwardRows(x: Variable, layout: SharingLayout): Variable {
    const outShape = [...x.shape.slice(0, -1), this.dOut];
    const flat = ops.reshape(x, [x.value.size / this.dIn, this.dIn]);
    let s = ops.matmul(flat, this.weight, { transB: true });
    if (this.bias) s = ops.add(s, this.bias);
    if (isCapturingCurvature()) reportLinearForward({ layer: this.kfacInfo, input: flat.value, layout, output: s });
    return ops.reshape(s, outShape);
  }
}
