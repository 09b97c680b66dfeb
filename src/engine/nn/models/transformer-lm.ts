// A tiny causal transformer language model with a loss per token (expand setting: every Linear's
// shared dim is the tokens and each token has its own loss term). Token + learned positional
// embeddings, pre-norm causal blocks, final LayerNorm, Linear head over the vocabulary.
// Parameters for vocab 101, context 4, dim 64, 2 blocks, 4 heads, mlpRatio 2: 80,357.
import type { Variable } from '../../autograd/variable.ts';
import * as ops from '../../autograd/ops.ts';
import type { Tensor } from '../../tensor.ts';
import { deriveSeed, initValues } from '../init.ts';
import { Embedding, LayerNorm } from '../layers.ts';
import { Linear } from '../linear.ts';
import { Module, type LayerContext } from '../module.ts';
import { TransformerBlock } from './transformer-block.ts';

export interface TransformerLmConfig {
  vocab: number;
  context: number;
  dim: number;
  depth: number;
  heads: number;
  mlpRatio?: number;
  dropout?: number;
}

export class TransformerLm extends Module {
  readonly embed: Embedding;
  readonly position: Variable;
  readonly blocks: TransformerBlock[] = [];
  readonly norm: LayerNorm;
  readonly head: Linear;

  constructor(
    ctx: LayerContext,
    readonly config: TransformerLmConfig,
  ) {
    super(ctx);
    const { dim } = config;
    this.embed = this.addModule('embed', new Embedding(ctx, 'embed', config.vocab, dim));
    this.position = this.addParameter(
      'position',
      initValues('trunc-normal', config.context * dim, dim, dim, deriveSeed(ctx.seed, 'position')),
      [1, config.context, dim],
    );
    for (let i = 0; i < config.depth; i++) {
      this.blocks.push(
        this.addModule(
          `blocks.${i}`,
          new TransformerBlock(ctx, `blocks.${i}`, {
            dim,
            heads: config.heads,
            mlpRatio: config.mlpRatio,
            causal: true,
            dropout: config.dropout,
          }),
        ),
      );
    }
    this.norm = this.addModule('norm', new LayerNorm(ctx, dim));
    this.head = this.addModule('head', new Linear(ctx, 'head', dim, config.vocab, { init: 'xavier-uniform', sharedDims: ['tokens'] }));
  }

  /** ids int32 [N, T] (T ≤ context) → logits [N, T, vocab]. */
  forward(ids: Tensor): Variable {
    const t = ids.shape[1];
    if (t > this.config.context) throw new Error(`TransformerLm: sequence length ${t} exceeds the context ${this.config.context}`);
    const pos = t === this.config.context ? this.position : ops.slice(this.position, [0, 0, 0], [1, t, this.config.dim]);
    let h = ops.add(this.embed.forward(ids), pos);
    for (const block of this.blocks) h = block.forward(h);
    return this.head.forward(this.norm.forward(h));
  }
}
