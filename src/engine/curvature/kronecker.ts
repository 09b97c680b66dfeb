// A Kronecker-factored curvature block C = G ⊗ A and the operations the curvature tools need
// (docs/curvature-tools.md §0-§1): products, damped inverses (exact damping in the eigenbasis, or the
// optimizer's π-damped Cholesky inverses of docs/kfac.md §4), log-determinants, the inverse's
// diagonal, trace and spectrum. The same operations with any diagonal D in the eigenbasis
// (C = (Q_G⊗Q_A) diag(D) (Q_G⊗Q_A)ᵀ) serve EK-FAC, whose D is Λ instead of κ μᵀ.
//
// vec is row-major: a matrix-shaped vector V is [dOut, width] (or a batch [B, dOut, width]) and
// C vec(V) = vec(G V A).
import type { Backend } from '../backend/backend.ts';
import { hostEigh } from '../linalg/host-eigh.ts';
import { keep, readAndDispose, scope, type Tensor } from '../tensor.ts';
import { piDamping, piShifts } from './damping.ts';
import { eigenPrecondition } from './preconditioner.ts';

/**
 * Largest factor that goes to the device's eigh on WebGPU; larger ones are read back, decomposed by
 * the float64 host solver and uploaded. Measured by `npm run bench -- curvature` (bench/results/
 * curvature.json, "eigh"; SwiftShader, 2-core VM): the host round trip took 0.1 / 0.2 / 0.6 / 4.3 /
 * 58 ms at n = 8 / 16 / 32 / 64 / 128, the device's one-workgroup-per-matrix Jacobi kernel 4.5 / 5 /
 * 13 / 132 / 1500 ms, with float32 errors (values ~1e-7·λ_max, ‖QᵀQ − I‖ ~1e-6) where the host is
 * float64-exact. So the host wins at every size there and this is 0; no hardware GPU was measured
 * (rerun the bench on one before raising it). The CPU backend always uses the host solver.
 */
export const DEVICE_EIGH_MAX = 0;

/** Which eigensolver a block uses: 'auto' (default) follows DEVICE_EIGH_MAX. */
export type EighChoice = 'auto' | 'device' | 'host';

/** The eigendecompositions of a block's factors: device tensors, owned by the block. */
export interface KroneckerEigen {
  /** μ [width] (descending, clamped at 0) and Q_A [width, width] (columns). */
  valuesA: Tensor;
  vectorsA: Tensor;
  /** κ [dOut] (descending, clamped at 0) and Q_G [dOut, dOut]. */
  valuesG: Tensor;
  vectorsG: Tensor;
  /** Where the decomposition ran: the device's eigh or the float64 host solver. */
  solver: 'device' | 'host';
}

/** The host copy of KroneckerEigen, row-major float64, values descending and clamped at 0. */
export interface KroneckerEigenHost {
  A: { values: Float64Array; vectors: Float64Array; n: number };
  G: { values: Float64Array; vectors: Float64Array; n: number };
}

export interface InverseOptions {
  /** λ ≥ 0 added to the curvature: (C + λ I)⁻¹. */
  damping: number;
  /**
   * 'eigen' (default): exact damping in the eigenbasis. 'cholesky': π-damping,
   * (G + (√λ/π) I)⁻¹ V (A + π√λ I)⁻¹ (docs/kfac.md §4) — the optimizer's approximation.
   */
  method?: 'eigen' | 'cholesky';
}

/** The operations on one Kronecker block C = G ⊗ A (A is [1] for a separate bias block). */
export interface KroneckerBlock {
  /** Rows of a matrix-shaped vector. */
  readonly dOut: number;
  /** Columns of a matrix-shaped vector: A's side. */
  readonly width: number;
  /** [width, width], owned by the block. */
  readonly A: Tensor;
  /** [dOut, dOut], owned by the block. */
  readonly G: Tensor;
  /** The eigendecompositions, computed on the first call and cached (owned by the block). */
  eigen(): Promise<KroneckerEigen>;
  /** The same on the host (float64; exact host values when the host solver ran). */
  eigenHost(): Promise<KroneckerEigenHost>;
  /** C vec(V) as G V A: V [dOut, width] or [B, dOut, width] → the same shape. Sync. */
  multiply(v: Tensor): Tensor;
  /** (C + λI)⁻¹ vec(V) for V [dOut, width] or [B, dOut, width]. */
  inverseApply(v: Tensor, options: InverseOptions): Promise<Tensor>;
  /** log det(s·C + δI) = Σ_ij log(s κ_i μ_j + δ) (default s = 1), in float64 on the host. */
  logDet(options: { scale?: number; damping: number }): Promise<number>;
  /** diag((C + λI)⁻¹) as [dOut, width]: Σ_ab Q_G[i,a]² Q_A[j,b]² / (κ_a μ_b + λ). */
  inverseDiagonal(damping: number): Promise<Tensor>;
  /** tr C = tr G · tr A. */
  trace(): Promise<number>;
  /** {κ_i μ_j} as [dOut, width] host values (row i: κ_i), κ and μ descending. */
  spectrum(): Promise<Float64Array>;
  dispose(): void;
}

/**
 * A block G ⊗ A over device factors it owns from now on. `A` null stands for the scalar 1 (a
 * separate bias block, whose curvature is G itself).
 */
export function kroneckerBlock(A: Tensor | null, G: Tensor, options: { eigh?: EighChoice } = {}): KroneckerBlock {
  return new FactorBlock(A ?? keep(G.backend.fill([1, 1], 1, G.dtype)), G, options.eigh);
}

export class FactorBlock implements KroneckerBlock {
  readonly dOut: number;
  readonly width: number;
  private eigenPromise: Promise<KroneckerEigen> | null = null;
  private hostCopy: KroneckerEigenHost | null = null;
  private cholesky: { damping: number; inverseA: Tensor; inverseG: Tensor } | null = null;
  private disposed = false;

  constructor(
    readonly A: Tensor,
    readonly G: Tensor,
    private readonly eighChoice: EighChoice = 'auto',
  ) {
    if (A.rank !== 2 || A.shape[0] !== A.shape[1] || G.rank !== 2 || G.shape[0] !== G.shape[1]) {
      throw new Error(`kroneckerBlock: factors must be square, got A [${A.shape.join(', ')}] and G [${G.shape.join(', ')}]`);
    }
    this.dOut = G.shape[0];
    this.width = A.shape[0];
  }

  private get be(): Backend {
    return this.G.backend;
  }

  eigen(): Promise<KroneckerEigen> {
    this.checkAlive('eigen');
    this.eigenPromise ??= this.decompose();
    return this.eigenPromise;
  }

  private async decompose(): Promise<KroneckerEigen> {
    const solver = (m: Tensor) => (this.eighChoice === 'auto' ? eighSolverFor(m.backend, m.shape[0]) : this.eighChoice);
    const [a, g] = await Promise.all([decomposeFactor(this.A, solver(this.A)), decomposeFactor(this.G, solver(this.G))]);
    if (a.host && g.host) this.hostCopy = { A: a.host, G: g.host };
    return {
      valuesA: a.values,
      vectorsA: a.vectors,
      valuesG: g.values,
      vectorsG: g.vectors,
      solver: a.solver === 'host' && g.solver === 'host' ? 'host' : 'device',
    };
  }

  async eigenHost(): Promise<KroneckerEigenHost> {
    const e = await this.eigen();
    if (!this.hostCopy) {
      const [va, qa, vg, qg] = await Promise.all([e.valuesA.read(), e.vectorsA.read(), e.valuesG.read(), e.vectorsG.read()]);
      this.hostCopy = {
        A: { values: Float64Array.from(va), vectors: Float64Array.from(qa), n: this.width },
        G: { values: Float64Array.from(vg), vectors: Float64Array.from(qg), n: this.dOut },
      };
    }
    return this.hostCopy;
  }

  multiply(v: Tensor): Tensor {
    this.checkAlive('multiply');
    checkVector(v, this.dOut, this.width, 'multiply');
    const be = this.be;
    return scope(() => be.matmul(be.matmul(this.G, v), this.A));
  }

  async inverseApply(v: Tensor, options: InverseOptions): Promise<Tensor> {
    this.checkAlive('inverseApply');
    checkVector(v, this.dOut, this.width, 'inverseApply');
    checkDamping(options.damping, 'inverseApply');
    if ((options.method ?? 'eigen') === 'eigen') {
      const e = await this.eigen();
      return eigenPrecondition(this.be, v, e, options.damping);
    }
    const { inverseA, inverseG } = await this.choleskyInverses(options.damping);
    const be = this.be;
    return scope(() => be.matmul(be.matmul(inverseG, v), inverseA));
  }

  /** π-damped Cholesky inverses (docs/kfac.md §4), cached for the last damping asked for. */
  private async choleskyInverses(damping: number): Promise<{ inverseA: Tensor; inverseG: Tensor }> {
    if (this.cholesky?.damping === damping) return this.cholesky;
    const be = this.be;
    const made = scope(() => {
      const traceOf = (m: Tensor) => be.reshape(be.reduce('sum', be.binary('mul', m, eye(be, m.shape[0], m.dtype)), null), [1]);
      const pi = piDamping(be, traceOf(this.A), [this.width], traceOf(this.G), [this.dOut]);
      const { shiftA, shiftG } = piShifts(be, pi, damping);
      const invert = (m: Tensor, shift: Tensor) => {
        const damped = be.binary('add', m, be.binary('mul', eye(be, m.shape[0], m.dtype), be.reshape(shift, [1, 1])));
        const { factor, status } = be.cholesky(damped);
        return { inverse: keep(be.choleskyInverse(factor)), status: keep(status) };
      };
      return { a: invert(this.A, shiftA), g: invert(this.G, shiftG) };
    });
    const [statusA, statusG] = await Promise.all([readAndDispose(made.a.status), readAndDispose(made.g.status)]);
    if (statusA[0] !== 0 || statusG[0] !== 0) {
      made.a.inverse.dispose();
      made.g.inverse.dispose();
      throw new Error(
        `inverseApply: the π-damped ${statusA[0] !== 0 ? 'A' : 'G'} is not positive definite at damping ${damping}; use a larger damping or method 'eigen'`,
      );
    }
    this.releaseCholesky();
    this.cholesky = { damping, inverseA: made.a.inverse, inverseG: made.g.inverse };
    return this.cholesky;
  }

  async logDet(options: { scale?: number; damping: number }): Promise<number> {
    const { A, G } = await this.eigenHost();
    return logDetOfDiagonal(outer(G.values, A.values), options.scale ?? 1, options.damping);
  }

  async inverseDiagonal(damping: number): Promise<Tensor> {
    checkDamping(damping, 'inverseDiagonal');
    const e = await this.eigen();
    const be = this.be;
    return scope(() => {
      const d = be.binary('mul', be.reshape(e.valuesG, [this.dOut, 1]), be.reshape(e.valuesA, [1, this.width]));
      return eigenbasisInverseDiagonal(be, e.vectorsG, e.vectorsA, d, damping);
    });
  }

  async trace(): Promise<number> {
    const be = this.be;
    const traces = scope(() => be.concat([diagonalSum(be, this.A), diagonalSum(be, this.G)], 0));
    const [a, g] = await readAndDispose(traces);
    return a * g;
  }

  async spectrum(): Promise<Float64Array> {
    const { A, G } = await this.eigenHost();
    return outer(G.values, A.values);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.releaseCholesky();
    const pending = this.eigenPromise;
    this.eigenPromise = null;
    this.A.dispose();
    this.G.dispose();
    // An eigendecomposition still running is freed when it lands.
    pending?.then(
      (e) => [e.valuesA, e.vectorsA, e.valuesG, e.vectorsG].forEach((t) => t.dispose()),
      () => undefined,
    );
  }

  private releaseCholesky(): void {
    this.cholesky?.inverseA.dispose();
    this.cholesky?.inverseG.dispose();
    this.cholesky = null;
  }

  private checkAlive(what: string): void {
    if (this.disposed) throw new Error(`KroneckerBlock.${what}: the block was disposed`);
  }
}

// ---- shared with EK-FAC ------------------------------------------------------------------------

/** d_ij ↦ Σ_ij log(s d_ij + δ), float64. δ = 0 needs every s d_ij > 0 (else −∞). */
export function logDetOfDiagonal(d: ArrayLike<number>, scale: number, damping: number): number {
  if (!(scale > 0)) throw new Error(`logDet: scale must be positive, got ${scale}`);
  checkDamping(damping, 'logDet');
  let sum = 0;
  for (let i = 0; i < d.length; i++) sum += Math.log(scale * Math.max(0, d[i]) + damping);
  return sum;
}

/** diag(((Q_G⊗Q_A) diag(D) (Q_G⊗Q_A)ᵀ + λI)⁻¹) = (Q_G∘Q_G) (1 ⊘ (D + λ)) (Q_A∘Q_A)ᵀ as [dOut, width]. */
export function eigenbasisInverseDiagonal(be: Backend, vectorsG: Tensor, vectorsA: Tensor, d: Tensor, damping: number): Tensor {
  return scope(() => {
    const reciprocal = be.binaryScalar('div', be.binaryScalar('add', be.binaryScalar('max', d, 0), damping), 1, true);
    const squaredG = be.binary('mul', vectorsG, vectorsG);
    const squaredA = be.binary('mul', vectorsA, vectorsA);
    return be.matmul(be.matmul(squaredG, reciprocal), squaredA, { transB: true });
  });
}

/** (Q_G⊗Q_A) diag(D) (Q_G⊗Q_A)ᵀ vec(V) = Q_G [(Q_Gᵀ V Q_A) ⊙ D] Q_Aᵀ for V [.., dOut, width]. */
export function eigenbasisMultiply(be: Backend, vectorsG: Tensor, vectorsA: Tensor, d: Tensor, v: Tensor): Tensor {
  return scope(() => {
    const rotated = be.matmul(be.matmul(vectorsG, v, { transA: true }), vectorsA);
    return be.matmul(be.matmul(vectorsG, be.binary('mul', rotated, d)), vectorsA, { transB: true });
  });
}

/** ((Q_G⊗Q_A) diag(D) (Q_G⊗Q_A)ᵀ + λI)⁻¹ vec(V) = Q_G [(Q_Gᵀ V Q_A) ⊘ (D + λ)] Q_Aᵀ. */
export function eigenbasisInverseApply(be: Backend, vectorsG: Tensor, vectorsA: Tensor, d: Tensor, v: Tensor, damping: number): Tensor {
  return scope(() => {
    const rotated = be.matmul(be.matmul(vectorsG, v, { transA: true }), vectorsA);
    const scaled = be.binary('div', rotated, be.binaryScalar('add', be.binaryScalar('max', d, 0), damping));
    return be.matmul(be.matmul(vectorsG, scaled), vectorsA, { transB: true });
  });
}

/** Σ_i M_ii as [1]. */
export function diagonalSum(be: Backend, m: Tensor): Tensor {
  return scope(() => be.reshape(be.reduce('sum', be.binary('mul', m, eye(be, m.shape[0], m.dtype)), null), [1]));
}

export function checkVector(v: Tensor, dOut: number, width: number, what: string): void {
  const [rows, cols] = v.shape.slice(-2);
  if ((v.rank !== 2 && v.rank !== 3) || rows !== dOut || cols !== width) {
    throw new Error(
      `${what}: expected a matrix-shaped vector [${dOut}, ${width}] or a batch [B, ${dOut}, ${width}], got [${v.shape.join(', ')}]`,
    );
  }
}

export function checkDamping(damping: number, what: string): void {
  if (!(damping >= 0) || !Number.isFinite(damping)) throw new Error(`${what}: damping must be a finite number ≥ 0, got ${damping}`);
}

/** x yᵀ flattened row-major (κ μᵀ). */
function outer(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length * y.length);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < y.length; j++) out[i * y.length + j] = x[i] * y[j];
  return out;
}

function eye(be: Backend, n: number, dtype: Tensor['dtype']): Tensor {
  const values = new Float64Array(n * n);
  for (let i = 0; i < n; i++) values[i * n + i] = 1;
  return be.tensor(values, [n, n], dtype);
}

// ---- one factor's eigendecomposition ------------------------------------------------------------

interface FactorEigen {
  values: Tensor;
  vectors: Tensor;
  solver: 'device' | 'host';
  host: { values: Float64Array; vectors: Float64Array; n: number } | null;
}

/** Which solver a factor of size n gets on this backend (see DEVICE_EIGH_MAX). */
export function eighSolverFor(be: Backend, n: number): 'device' | 'host' {
  return be.name === 'webgpu' && n <= DEVICE_EIGH_MAX ? 'device' : 'host';
}

/** Values descending and clamped at 0, vectors as columns, as kept device tensors. */
export async function decomposeFactor(m: Tensor, solver: 'device' | 'host' = eighSolverFor(m.backend, m.shape[0])): Promise<FactorEigen> {
  const be = m.backend;
  const n = m.shape[0];
  if (solver === 'host') {
    const { values, vectors } = hostEigh(await m.read(), n);
    for (let i = 0; i < n; i++) values[i] = Math.max(0, values[i]);
    return {
      values: keep(be.tensor(values, [n], m.dtype)),
      vectors: keep(be.tensor(vectors, [n, n], m.dtype)),
      solver,
      host: { values, vectors, n },
    };
  }
  // The device eigh is ascending: reverse both with an exchange matrix J (a permutation, exact).
  const out = scope(() => {
    const { values, vectors } = be.eigh(m);
    const j = new Float64Array(n * n);
    for (let i = 0; i < n; i++) j[i * n + (n - 1 - i)] = 1;
    const exchange = be.tensor(j, [n, n], m.dtype);
    const descending = be.reshape(be.matmul(be.reshape(values, [1, n]), exchange), [n]);
    return { values: keep(be.binaryScalar('max', descending, 0)), vectors: keep(be.matmul(vectors, exchange)) };
  });
  return { ...out, solver, host: null };
}
