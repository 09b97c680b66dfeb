// A tiny Vision Transformer: patch embedding (a Conv2d with kernel = stride = patch, i.e. a Linear
// shared over patches), learned positional embeddings, optional class token, pre-norm blocks, a
// final LayerNorm, mean pooling (or the class token) and a Linear head. The loss is per image, so
// every Linear inside is in the reduce setting (docs/kfac.md §2).
// Parameters for 1×14×14 inputs, patch 2 (49 tokens), dim 32, 2 blocks, 4 heads, mlpRatio 2,
// mean pooling, 10 classes: 19,210.
import type { Variable } from '../../autograd/variable.ts';
import * as ops from '../../autograd/ops.ts';
import { constant } from '../../autograd/variable.ts';
import { Conv2d } from '../conv2d.ts';
import { deriveSeed, initValues } from '../init.ts';
import { LayerNorm } from '../layers.ts';
import { Linear } from '../linear.ts';
import { Module, type LayerContext } from '../module.ts';
import { classToken, meanPool } from '../pooling.ts';
import { TransformerBlock } from './transformer-block.ts';

export interface VitConfig {
  inChannels: number;
  height: number;
  width: number;
  patch: number;
  dim: number;
  depth: number;
  heads: number;
  mlpRatio?: number;
  classes: number;
  pooling?: 'mean' | 'class-token';
}

export class Vit extends Module {
  readonly patchEmbed: Conv2d;
  readonly position: Variable;
  readonly classTokenParam: Variable | null;
  readonly blocks: TransformerBlock[] = [];
  readonly norm: LayerNorm;
  readonly head: Linear;
  readonly tokens: number;

  constructor(
    ctx: LayerContext,
    readonly config: VitConfig,
  ) {
    super(ctx);
    const { patch, dim } = config;
    if (config.height % patch || config.width % patch)
      throw new Error(`Vit: image ${config.height}×${config.width} is not divisible into ${patch}×${patch} patches`);
    const patches = (config.height / patch) * (config.width / patch);
    const useClassToken = config.pooling === 'class-token';
    this.tokens = patches + (useClassToken ? 1 : 0);
    this.patchEmbed = this.addModule('patch', new Conv2d(ctx, 'patch', config.inChannels, dim, patch, { stride: patch }));
    this.position = this.addParameter(
      'position',
      initValues('trunc-normal', this.tokens * dim, dim, dim, deriveSeed(ctx.seed, 'position')),
      [1, this.tokens, dim],
    );
    this.classTokenParam = useClassToken
      ? this.addParameter('cls', initValues('trunc-normal', dim, dim, dim, deriveSeed(ctx.seed, 'cls')), [1, 1, dim])
      : null;
    for (let i = 0; i < config.depth; i++) {
      this.blocks.push(
        this.addModule(
          `blocks.${i}`,
          new TransformerBlock(ctx, `blocks.${i}`, { dim, heads: config.heads, mlpRatio: config.mlpRatio, causal: false }),
        ),
      );
    }
    this.norm = this.addModule('norm', new LayerNorm(ctx, dim));
    this.head = this.addModule('head', new Linear(ctx, 'head', dim, config.classes, { init: 'xavier-uniform' }));
  }

  /** x: [N, C, H, W] → logits [N, classes]. */
  forward(x: Variable): Variable {
    const n = x.shape[0];
    const dim = this.config.dim;
    const maps = this.patchEmbed.forward(x); // [N, dim, H/p, W/p]
    let h = ops.permute(ops.reshape(maps, [n, dim, maps.value.size / (n * dim)]), [0, 2, 1]); // [N, P, dim]
    if (this.classTokenParam) {
      const ones = constant(this.backend.fill([n, 1, 1], 1, this.precision));
      h = ops.concat([ops.mul(ones, this.classTokenParam), h], 1);
    }
    h = ops.add(h, this.position);
    for (const block of this.blocks) h = block.forward(h);
    h = this.norm.forward(h);
    return this.head.forward(this.classTokenParam ? classToken(h) : meanPool(h));
  }
}
