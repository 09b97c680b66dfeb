// Multi-head self-attention built from four Linear layers (q, k, v, o), each a K-FAC layer whose
// shared dim is the tokens.
import * as ops from '../autograd/ops.ts';
import { constant, type Variable } from '../autograd/variable.ts';
import { keep, type Tensor } from '../tensor.ts';
import { Linear } from './linear.ts';
import { Module, type LayerContext } from './module.ts';

export class MultiHeadAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly o: Linear;
  private maskCache = new Map<number, Tensor>();

  constructor(
    ctx: LayerContext,
    name: string,
    readonly dim: number,
    readonly heads: number,
    readonly causal: boolean,
  ) {
    super(ctx);
    if (dim % heads !== 0) throw new Error(`${name}: dim ${dim} is not divisible by ${heads} heads`);
    const opts = { init: 'xavier-uniform' as const, sharedDims: ['tokens'] };
    this.q = this.addModule('q', new Linear(ctx, `${name}.q`, dim, dim, opts));
    this.k = this.addModule('k', new Linear(ctx, `${name}.k`, dim, dim, opts));
    this.v = this.addModule('v', new Linear(ctx, `${name}.v`, dim, dim, opts));
    this.o = this.addModule('o', new Linear(ctx, `${name}.o`, dim, dim, opts));
  }

  /** x: [N, T, dim] → [N, T, dim]. */
  forward(x: Variable): Variable {
    const [n, t] = x.shape;
    const dh = this.dim / this.heads;
    const split = (y: Variable) => ops.permute(ops.reshape(y, [n, t, this.heads, dh]), [0, 2, 1, 3]); // [N, H, T, dh]
    const q = split(this.q.forward(x));
    const k = split(this.k.forward(x));
    const v = split(this.v.forward(x));
    let scores = ops.mulScalar(ops.matmul(q, k, { transB: true }), 1 / Math.sqrt(dh)); // [N, H, T, T]
    if (this.causal) scores = ops.add(scores, constant(this.causalMask(t)));
    const attn = ops.softmax(scores);
    const mixed = ops.reshape(ops.permute(ops.matmul(attn, v), [0, 2, 1, 3]), [n, t, this.dim]);
    return this.o.forward(mixed);
  }

  /** [T, T] additive mask: 0 on and below the diagonal, −1e9 above (cached per length). */
  private causalMask(t: number): Tensor {
    let m = this.maskCache.get(t);
    if (!m) {
      const values = new Float32Array(t * t);
      for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) values[i * t + j] = -1e9;
      m = keep(this.backend.tensor(values, [t, t], this.precision));
      this.maskCache.set(t, m);
    }
    return m;
  }

  override dispose(): void {
    super.dispose();
    for (const m of this.maskCache.values()) m.dispose();
    this.maskCache.clear();
  }
}
