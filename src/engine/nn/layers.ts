// Small layers without weight sharing of their own: LayerNorm, Embedding, Dropout, activations.
import * as ops from '../autograd/ops.ts';
import { constant, type Variable } from '../autograd/variable.ts';
import type { Tensor } from '../tensor.ts';
import { Rng } from '../random.ts';
import { deriveSeed, initValues } from './init.ts';
import { Module, type LayerContext } from './module.ts';

export type Activation = 'relu' | 'gelu' | 'tanh';

export function activate(kind: Activation, x: Variable): Variable {
  return kind === 'relu' ? ops.relu(x) : kind === 'gelu' ? ops.gelu(x) : ops.tanh(x);
}

/** LayerNorm over the last dim with a learned gain and bias (not a K-FAC layer: Adam updates it). */
export class LayerNorm extends Module {
  readonly gain: Variable;
  readonly bias: Variable;

  constructor(
    ctx: LayerContext,
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super(ctx);
    this.gain = this.addParameter('weight', new Float64Array(dim).fill(1), [dim]);
    this.bias = this.addParameter('bias', new Float64Array(dim), [dim]);
  }

  forward(x: Variable): Variable {
    const mu = ops.mean(x, -1, true);
    const centred = ops.sub(x, mu);
    const variance = ops.mean(ops.mul(centred, centred), -1, true);
    const invStd = ops.powScalar(ops.addScalar(variance, this.eps), -0.5);
    return ops.add(ops.mul(ops.mul(centred, invStd), this.gain), this.bias);
  }
}

/** Embedding: int32 ids [...] → [..., dim] by row gather (its gradient is a scatter-add). */
export class Embedding extends Module {
  readonly weight: Variable;

  constructor(
    ctx: LayerContext,
    name: string,
    readonly vocab: number,
    readonly dim: number,
  ) {
    super(ctx);
    this.weight = this.addParameter(
      'weight',
      initValues('trunc-normal', vocab * dim, dim, dim, deriveSeed(ctx.seed, `${name}.weight`), 0.02),
      [vocab, dim],
    );
  }

  forward(ids: Tensor): Variable {
    if (ids.dtype !== 'int32') throw new Error(`Embedding: ids must be int32, got ${ids.dtype}`);
    // The flat view stays alive with the step's scope: gather's vjp needs it in backward.
    const flat = this.backend.reshape(ids, [ids.size]);
    const rows = ops.gather(this.weight, flat);
    return ops.reshape(rows, [...ids.shape, this.dim]);
  }
}

/** Inverted dropout with its own seeded stream: the same seed replays the same masks. */
export class Dropout extends Module {
  private rng: Rng;

  constructor(
    ctx: LayerContext,
    name: string,
    readonly p: number,
  ) {
    super(ctx);
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
    this.rng = new Rng(deriveSeed(ctx.seed, `${name}.dropout`));
  }

  forward(x: Variable): Variable {
    if (!this.training || this.p === 0) return x;
    const keepScale = 1 / (1 - this.p);
    const mask = new Float64Array(x.value.size);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.next() < this.p ? 0 : keepScale;
    const m = this.backend.tensor(mask, x.shape, x.value.dtype);
    return ops.mulConstant(x, m);
  }
}

/** A constant tensor as a graph input. */
export function input(t: Tensor): Variable {
  return constant(t);
}
