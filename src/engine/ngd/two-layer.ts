// The two-layer network of natural gradient on wide networks (docs/curvature-tools.md §7; Zhang,
// Martens & Grosse 2019): f(x) = (1/√m) Σ_r a_r σ(w_rᵀ x), a_r = ±1 fixed, only W ∈ R^{m×d}
// trained, σ = relu (or the identity, which makes f linear in W: the oracle's linear model).
// W_rj ~ N(0, 1), a_r uniform ±1, both from the seed.
//
// Everything of size m lives on the backend: the pre-activations X Wᵀ [n, m], the activation
// pattern S = 1{X Wᵀ > 0}, the outputs and S Sᵀ; the host gets n-sized results. The Jacobian row of
// example i is J_i = (1/√m) (a ⊙ S_i) ⊗ x_i (row-major vec W), so
//   J Jᵀ = (X Xᵀ) ⊙ (S Sᵀ) / m          (the Gram matrix, n×n)
//   Jᵀ-type lifts: ΔW = (1/√m) diag(a) Sᵀ M  for any M [n, d]  (NGD: M = diag(α) X)
// and every method's step is such a lift (ngd.ts).
import type { Backend } from '../backend/backend.ts';
import { streamRng } from '../data/common.ts';
import { keep, readAndDispose, scope, type Tensor } from '../tensor.ts';
import type { NgdData } from './data.ts';
import { gramOfRows } from './host-solve.ts';

export type WideActivation = 'relu' | 'linear';

export interface WideNetOptions {
  width: number;
  seed: number;
  activation?: WideActivation;
  /** Tensor precision (default float32; float64 on the CPU backend for exact checks). */
  dtype?: 'float32' | 'float64';
}

/** The state at the current weights: outputs u [n] and the pattern part S Sᵀ / m of the Gram matrix. */
export interface WideEvaluation {
  outputs: Float64Array;
  /** S Sᵀ / m, n×n row-major (all ones for the linear model). */
  pattern: Float64Array;
  /** J Jᵀ = (X Xᵀ) ⊙ pattern. */
  gram: Float64Array;
}

export class TwoLayerNet {
  readonly width: number;
  readonly activation: WideActivation;
  readonly n: number;
  readonly d: number;
  private readonly x: Tensor;
  private weight: Tensor;
  /** a / √m as [m, 1]. */
  private readonly head: Tensor;
  private readonly inputGram: Float64Array;
  /** The activation pattern [n, m] of the last evaluate() (the Jacobian's), used by step(). */
  private mask: Tensor | null = null;

  constructor(
    readonly backend: Backend,
    readonly data: NgdData,
    options: WideNetOptions,
  ) {
    const { width, seed } = options;
    if (!(Number.isInteger(width) && width >= 1 && width <= 65536))
      throw new Error(`two-layer net: width must be a whole number in 1 … 65536, got ${width}`);
    this.width = width;
    this.activation = options.activation ?? 'relu';
    this.n = data.n;
    this.d = data.d;
    const dtype = options.dtype ?? 'float32';
    const rng = streamRng(seed, 0x51de);
    const w = rng.normalArray(width * data.d);
    const a = Float64Array.from({ length: width }, () => (rng.next() < 0.5 ? -1 : 1) / Math.sqrt(width));
    this.x = keep(backend.tensor(data.inputs, [data.n, data.d], dtype));
    this.weight = keep(backend.tensor(w, [width, data.d], dtype));
    this.head = keep(backend.tensor(a, [width, 1], dtype));
    this.inputGram = gramOfRows(data.inputs, data.n, data.d);
  }

  /** Outputs, activation pattern and Gram matrix at the current weights (one read of n + n² numbers). */
  async evaluate(): Promise<WideEvaluation> {
    const be = this.backend;
    const { n } = this;
    this.mask?.dispose();
    const { mask, packed } = scope(() => {
      const pre = be.matmul(this.x, this.weight, { transB: true }); // [n, m]
      const mask =
        this.activation === 'relu' ? be.binaryScalar('greater', pre, 0) : be.binaryScalar('add', be.binaryScalar('mul', pre, 0), 1);
      const hidden = this.activation === 'relu' ? be.binary('mul', pre, mask) : pre;
      const outputs = be.reshape(be.matmul(hidden, this.head), [n]);
      const pattern = be.binaryScalar('mul', be.matmul(mask, mask, { transB: true }), 1 / this.width);
      return { mask: keep(mask), packed: keep(be.concat([outputs, be.reshape(pattern, [n * n])], 0)) };
    });
    this.mask = mask;
    const host = await readAndDispose(packed);
    const outputs = Float64Array.from(host.subarray(0, n));
    const pattern = Float64Array.from(host.subarray(n));
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) gram[i] = this.inputGram[i] * pattern[i];
    return { outputs, pattern, gram };
  }

  /** W ← W + (1/√m) diag(a) Sᵀ M for M [n, d] (host, row-major), with S from the last evaluate(). */
  step(m: Float64Array): void {
    const be = this.backend;
    if (!this.mask) throw new Error('two-layer net: step() needs an evaluate() first (the Jacobian at the current weights)');
    if (m.length !== this.n * this.d) throw new Error(`two-layer net: step matrix has ${m.length} entries, not ${this.n}×${this.d}`);
    const mask = this.mask;
    const next = scope(() => {
      const lift = be.matmul(mask, be.tensor(m, [this.n, this.d], this.weight.dtype), { transA: true }); // [m, d]
      return keep(be.binary('add', this.weight, be.binary('mul', lift, this.head)));
    });
    this.weight.dispose();
    this.weight = next;
  }

  /** Host copies of W [m, d] and of a / √m [m]. */
  async readWeights(): Promise<{ weight: Float64Array; head: Float64Array }> {
    return { weight: Float64Array.from(await this.weight.read()), head: Float64Array.from(await this.head.read()) };
  }

  dispose(): void {
    for (const t of [this.x, this.weight, this.head, this.mask]) t?.dispose();
    this.mask = null;
  }
}
