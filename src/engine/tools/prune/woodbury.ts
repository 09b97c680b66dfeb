// WoodFisher's inverse empirical Fisher (docs/curvature-tools.md §5): F = λI + (1/N) Σ_n g_n g_nᵀ
// over per-example gradients g_n, inverted without ever forming F by the Woodbury recursion
//   F_n⁻¹ = F_{n−1}⁻¹ − F_{n−1}⁻¹ g_n g_nᵀ F_{n−1}⁻¹ / (N + g_nᵀ F_{n−1}⁻¹ g_n),   F_0⁻¹ = I/λ,
// restricted to blocks of B consecutive coordinates along the diagonal of vec(W) (a layer of P
// weights is too big for one P×P matrix; the blocks are WoodFisher's own approximation). All
// blocks are updated at once as a batch [nb, B, B] on the device.
//
// `chunk` k > 1 applies k steps of the recursion in one go with the block form of the same identity,
//   F⁻¹ ← F⁻¹ − U (N I_k + G_kᵀ U)⁻¹ Uᵀ,   U = F⁻¹ G_k  (G_k: the k gradients as columns),
// equal to the k rank-1 steps in exact arithmetic (Woodbury's identity is the recursion's closed
// form) and far cheaper on a device: matmuls of k columns and a batched k×k Cholesky instead of k
// passes over every block. chunk = 1 is the literal recursion.
import type { Backend } from '../../backend/backend.ts';
import { keep, readAndDispose, scope, type Tensor } from '../../tensor.ts';

export interface WoodburyOptions {
  /** Coordinates P of the vector the Fisher acts on (a layer's dOut·dIn weights). */
  size: number;
  /** B: coordinates per diagonal block (the last block is padded with coordinates that never see a gradient). */
  blockSize: number;
  /** N of the mean: how many examples will be added in all (the recursion needs it from the start). */
  examples: number;
  /** λ > 0. */
  damping: number;
  /** Examples per update (default 16); 1 is the literal rank-1 recursion. */
  chunk?: number;
  dtype?: Tensor['dtype'];
}

/** The running F⁻¹ of one layer in diagonal blocks, owned here until dispose(). */
export class BlockWoodburyInverse {
  readonly size: number;
  readonly blockSize: number;
  readonly blocks: number;
  readonly examples: number;
  readonly damping: number;
  readonly chunk: number;
  private inverse: Tensor;
  private added = 0;

  constructor(
    private readonly be: Backend,
    options: WoodburyOptions,
  ) {
    const { size, blockSize, examples, damping } = options;
    if (!(Number.isInteger(size) && size >= 1)) throw new Error(`woodbury: size must be a positive integer, got ${size}`);
    if (!(Number.isInteger(blockSize) && blockSize >= 1))
      throw new Error(`woodbury: blockSize must be a positive integer, got ${blockSize}`);
    if (!(Number.isInteger(examples) && examples >= 1)) throw new Error(`woodbury: examples must be a positive integer, got ${examples}`);
    if (!(damping > 0 && Number.isFinite(damping))) throw new Error(`woodbury: damping must be a finite number > 0, got ${damping}`);
    const chunk = options.chunk ?? 16;
    if (!(Number.isInteger(chunk) && chunk >= 1)) throw new Error(`woodbury: chunk must be a positive integer, got ${chunk}`);
    this.size = size;
    this.blockSize = Math.min(blockSize, size);
    this.blocks = Math.ceil(size / this.blockSize);
    this.examples = examples;
    this.damping = damping;
    this.chunk = chunk;
    const B = this.blockSize;
    const eye = new Float64Array(B * B);
    for (let i = 0; i < B; i++) eye[i * B + i] = 1 / damping;
    this.inverse = keep(
      scope(() => be.binary('mul', be.fill([this.blocks, 1, 1], 1, options.dtype ?? 'float32'), be.tensor(eye, [1, B, B], options.dtype))),
    );
  }

  /** Examples added so far. */
  get count(): number {
    return this.added;
  }

  /** Add the rows of `gradients` [n, size] (one example each) to F, in order. The caller keeps `gradients`. */
  add(gradients: Tensor): void {
    if (gradients.rank !== 2 || gradients.shape[1] !== this.size)
      throw new Error(`woodbury: expected gradients [n, ${this.size}], got [${gradients.shape.join(', ')}]`);
    const n = gradients.shape[0];
    if (this.added + n > this.examples)
      throw new Error(`woodbury: ${this.added + n} examples added, more than the ${this.examples} of the mean`);
    const be = this.be;
    const B = this.blockSize;
    const padded = this.blocks * B;
    // [nb, B, n]: block b's coordinates by example (each example a column).
    const columns = keep(
      scope(() => {
        const g = padded === this.size ? gradients : be.concat([gradients, be.zeros([n, padded - this.size], gradients.dtype)], 1);
        return be.permute(be.reshape(g, [n, this.blocks, B]), [1, 2, 0]);
      }),
    );
    try {
      for (let start = 0; start < n; start += this.chunk) {
        const k = Math.min(this.chunk, n - start);
        const next = keep(
          scope(() => {
            const g = k === n ? columns : be.slice(columns, [0, 0, start], [this.blocks, B, k]);
            return k === 1 ? this.rankOne(g) : this.rankK(g, k);
          }),
        );
        this.inverse.dispose();
        this.inverse = next;
      }
    } finally {
      columns.dispose();
    }
    this.added += n;
  }

  /** One step of the recursion for g [nb, B, 1]. */
  private rankOne(g: Tensor): Tensor {
    const be = this.be;
    const u = be.matmul(this.inverse, g); // F⁻¹ g
    const denominator = be.binaryScalar('add', be.matmul(g, u, { transA: true }), this.examples); // N + gᵀ F⁻¹ g, [nb, 1, 1]
    return be.binary('sub', this.inverse, be.matmul(be.binary('div', u, denominator), u, { transB: true }));
  }

  /** k steps at once for G_k [nb, B, k]: F⁻¹ − Yᵀ Y with Y = L⁻¹ Uᵀ, L Lᵀ = N I + G_kᵀ F⁻¹ G_k. */
  private rankK(g: Tensor, k: number): Tensor {
    const be = this.be;
    const ut = be.matmul(g, this.inverse, { transA: true }); // G_kᵀ F⁻¹ = Uᵀ (F⁻¹ is symmetric), [nb, k, B]
    const eye = new Float64Array(k * k);
    for (let i = 0; i < k; i++) eye[i * k + i] = this.examples;
    const s = be.binary('add', be.matmul(ut, g), be.tensor(eye, [1, k, k], g.dtype)); // [nb, k, k], eigenvalues ≥ N
    const { factor } = be.cholesky(s);
    const y = be.triangularSolve(factor, ut); // L⁻¹ Uᵀ
    return be.binary('sub', this.inverse, be.matmul(y, y, { transA: true }));
  }

  /** The blocks [nb, B, B] as they stand (owned here). */
  get blockInverse(): Tensor {
    return this.inverse;
  }

  /** diag(F⁻¹) as [size] float64. */
  async diagonal(): Promise<Float64Array> {
    const be = this.be;
    const B = this.blockSize;
    // A gather of the nb·B diagonal entries (a masked reduction would touch all nb·B² of them).
    const positions = new Int32Array(this.size);
    for (let q = 0; q < this.size; q++) positions[q] = Math.floor(q / B) * B * B + (q % B) * (B + 1);
    const d = scope(() => be.gather(be.reshape(this.inverse, [this.blocks * B * B, 1]), be.tensor(positions, [this.size], 'int32')));
    return Float64Array.from(await readAndDispose(d));
  }

  /** F⁻¹ v for v [size], float64 on the host. */
  async apply(v: ArrayLike<number>): Promise<Float64Array> {
    if (v.length !== this.size) throw new Error(`woodbury: apply expects ${this.size} values, got ${v.length}`);
    const be = this.be;
    const B = this.blockSize;
    const padded = new Float64Array(this.blocks * B);
    padded.set(Array.from(v));
    const out = scope(() => be.matmul(this.inverse, be.tensor(padded, [this.blocks, B, 1], this.inverse.dtype)));
    return Float64Array.from((await readAndDispose(out)).subarray(0, this.size));
  }

  dispose(): void {
    this.inverse.dispose();
  }
}
