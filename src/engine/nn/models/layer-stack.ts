// A model given layer by layer with explicit weights, for cross-checking K-FAC against other
// implementations (the `factors` tool, src/engine/tools/case.ts) and for the oracles of docs/kfac.md §6.
// Every layer acts on each shared position of inputs [N, R, dIn]; in the reduce setting the model
// output is the mean over R ([N, C]), in the expand setting it keeps R ([N, R, C]).
import * as ops from '../../autograd/ops.ts';
import type { Variable } from '../../autograd/variable.ts';
import { Linear } from '../linear.ts';
import { Module, type LayerContext } from '../module.ts';

export type StackActivation = 'tanh' | 'relu';
/** Whether the output keeps the shared positions (expand) or averages them (reduce); the loss setting of docs/kfac.md §2. */
export type StackSetting = 'expand' | 'reduce';

export type StackLayerSpec =
  | {
      type: 'linear';
      /** [dOut][dIn]: row i holds output i's weights. */
      weight: readonly (readonly number[])[];
      /** [dOut]; omitted for a layer without bias. */
      bias?: readonly number[];
    }
  | { type: StackActivation };

export interface LayerStackConfig {
  layers: readonly StackLayerSpec[];
  setting: StackSetting;
}

export class LayerStack extends Module {
  /** The Linear layers with their position in `config.layers`. */
  readonly linears: { index: number; layer: Linear }[] = [];
  readonly dIn: number;
  readonly dOut: number;

  constructor(
    ctx: LayerContext,
    readonly config: LayerStackConfig,
  ) {
    super(ctx);
    let width: number | null = null;
    let inputWidth: number | null = null;
    const weights: Record<string, number[]> = {};
    config.layers.forEach((spec, index) => {
      if (spec.type === 'tanh' || spec.type === 'relu') return;
      if (spec.type !== 'linear')
        throw new Error(`LayerStack: layers[${index}] has unknown type "${String((spec as { type: unknown }).type)}"`);
      const dOut = spec.weight.length;
      const dIn = spec.weight[0]?.length ?? 0;
      if (dOut === 0 || dIn === 0 || spec.weight.some((row) => row.length !== dIn)) {
        throw new Error(`LayerStack: layers[${index}].weight is not a non-empty matrix with rows of equal length`);
      }
      if (width !== null && dIn !== width) {
        throw new Error(`LayerStack: layers[${index}].weight has ${dIn} columns, but the layer before outputs ${width}`);
      }
      if (spec.bias && spec.bias.length !== dOut) {
        throw new Error(`LayerStack: layers[${index}].bias has ${spec.bias.length} entries, expected ${dOut}`);
      }
      const name = `layers.${index}`;
      const layer = this.addModule(name, new Linear(ctx, name, dIn, dOut, { bias: spec.bias !== undefined, sharedDims: ['positions'] }));
      this.linears.push({ index, layer });
      weights[`${name}.weight`] = spec.weight.flat();
      if (spec.bias) weights[`${name}.bias`] = [...spec.bias];
      inputWidth ??= dIn;
      width = dOut;
    });
    if (width === null || inputWidth === null) throw new Error('LayerStack: needs at least one linear layer');
    this.dIn = inputWidth;
    this.dOut = width;
    this.loadWeights(weights);
  }

  /** x: [N, R, dIn] → [N, R, C] (expand) or [N, C] (reduce: the mean over R). */
  forward(x: Variable): Variable {
    if (x.rank !== 3 || x.shape[2] !== this.dIn) {
      throw new Error(`LayerStack: expected inputs [N, R, ${this.dIn}], got [${x.shape.join(', ')}]`);
    }
    let h = x;
    this.config.layers.forEach((spec, index) => {
      if (spec.type === 'linear') h = this.linears.find((l) => l.index === index)!.layer.forward(h);
      else h = spec.type === 'tanh' ? ops.tanh(h) : ops.relu(h);
    });
    return this.config.setting === 'reduce' ? ops.mean(h, 1) : h;
  }
}
