// The pre-norm transformer block shared by the ViT and the language model:
// x + attn(LN(x)), then x + MLP(LN(x)) with a GELU MLP of width `mlpRatio`·dim.
import type { Variable } from '../../autograd/variable.ts';
import * as ops from '../../autograd/ops.ts';
import { MultiHeadAttention } from '../attention.ts';
import { Dropout, LayerNorm } from '../layers.ts';
import { Linear } from '../linear.ts';
import { Module, type LayerContext } from '../module.ts';

export interface BlockConfig {
  dim: number;
  heads: number;
  mlpRatio?: number;
  causal: boolean;
  dropout?: number;
}

export class TransformerBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ln2: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly drop: Dropout;

  constructor(ctx: LayerContext, name: string, config: BlockConfig) {
    super(ctx);
    const hidden = config.dim * (config.mlpRatio ?? 2);
    const tokens = { sharedDims: ['tokens'] };
    this.ln1 = this.addModule('ln1', new LayerNorm(ctx, config.dim));
    this.attn = this.addModule('attn', new MultiHeadAttention(ctx, `${name}.attn`, config.dim, config.heads, config.causal));
    this.ln2 = this.addModule('ln2', new LayerNorm(ctx, config.dim));
    this.fc1 = this.addModule('fc1', new Linear(ctx, `${name}.fc1`, config.dim, hidden, { init: 'xavier-uniform', ...tokens }));
    this.fc2 = this.addModule('fc2', new Linear(ctx, `${name}.fc2`, hidden, config.dim, { init: 'xavier-uniform', ...tokens }));
    this.drop = this.addModule('drop', new Dropout(ctx, name, config.dropout ?? 0));
  }

  forward(x: Variable): Variable {
    const h = ops.add(x, this.drop.forward(this.attn.forward(this.ln1.forward(x))));
    return ops.add(h, this.drop.forward(this.fc2.forward(ops.gelu(this.fc1.forward(this.ln2.forward(h))))));
  }
}
