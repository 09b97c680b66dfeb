// EK-FAC's eigenvalues (docs/curvature-tools.md §1, George et al. 2018): in K-FAC's eigenbasis
// Q_G ⊗ Q_A, the best diagonal of the layer's curvature block,
//   Λ_ij = Σ_m Σ_k ((Q_Gᵀ Γ_{m,k} Q_A)_ij)²,
// from the per-term gradients Γ_{m,k} of per-term-gradients.ts, projected into the basis on the
// device as a batched matmul; nothing of size P×P is formed. Runs on any backend (device work only;
// the caller reads the results).
import type { Variable } from '../../autograd/variable.ts';
import type { LossTargets } from '../../nn/losses.ts';
import type { KfacLayerInfo } from '../../nn/curvature-hook.ts';
import { keep, scope, type Tensor } from '../../tensor.ts';
import { perTermGradientPasses, type PerTermOptions, type TermGradients } from '../per-term-gradients.ts';

/** K-FAC's eigenvectors of one layer, as columns, on the model's backend and in its dtype. */
export interface KronBasis {
  /** [dIn(+1), dIn(+1)] (with the bias folded, the constant-1 input last). */
  QA: Tensor;
  /** [dOut, dOut]. */
  QG: Tensor;
}

export type EkfacOptions = Omit<PerTermOptions, 'layers'>;

export interface EkfacLayerEigenvalues {
  layer: KfacLayerInfo;
  /** Λ [dOut, dIn(+1)]. */
  weight: Tensor;
  /** With a separate bias: [dOut], Σ_{m,k} ((Q_Gᵀ γ_{m,k})_i)² of the bias gradients; else null. */
  bias: Tensor | null;
}

/** Running sums of Λ over passes and batches, for the layers that have a basis. */
export class EkfacAccumulator {
  private readonly sums = new Map<string, EkfacLayerEigenvalues>();

  constructor(readonly bases: ReadonlyMap<string, KronBasis>) {}

  /** Add one pass's per-term gradients of a layer, scaled by `weight` (1 for a single batch). */
  add(g: TermGradients, weight = 1): void {
    const basis = this.bases.get(g.layer.name);
    if (!basis) return;
    const [dOut, width] = [g.weight.shape[1], g.weight.shape[2]];
    if (basis.QA.shape[0] !== width || basis.QG.shape[0] !== dOut) {
      throw new Error(
        `EkfacAccumulator: layer ${g.layer.name} has Γ [${dOut}, ${width}], the basis [${basis.QG.shape[0]}, ${basis.QA.shape[0]}]`,
      );
    }
    const be = g.weight.backend;
    const prev = this.sums.get(g.layer.name);
    const next = scope(() => {
      const square = (t: Tensor) => be.binary('mul', t, t);
      const scaled = (t: Tensor) => (weight === 1 ? t : be.binaryScalar('mul', t, weight));
      const QG = be.reshape(basis.QG, [1, dOut, dOut]);
      const QA = be.reshape(basis.QA, [1, width, width]);
      const projected = be.matmul(be.matmul(QG, g.weight, { transA: true }), QA); // Q_Gᵀ Γ Q_A per term
      const w = scaled(be.reduce('sum', square(projected), 0));
      let b: Tensor | null = null;
      if (g.bias) {
        const pb = be.matmul(g.bias, basis.QG); // (Q_Gᵀ γ)ᵀ per term, [T, dOut]
        b = scaled(be.reduce('sum', square(pb), 0));
      }
      return {
        layer: g.layer,
        weight: keep(prev ? be.binary('add', prev.weight, w) : w),
        bias: b ? keep(prev?.bias ? be.binary('add', prev.bias, b) : b) : null,
      };
    });
    prev?.weight.dispose();
    prev?.bias?.dispose();
    this.sums.set(g.layer.name, next);
  }

  /** The sums, one per basis (zeros for a layer that received nothing); the caller owns them. */
  take(): EkfacLayerEigenvalues[] {
    const out = [...this.bases.keys()].map((name) => {
      const sum = this.sums.get(name);
      if (!sum) throw new Error(`EkfacAccumulator: no gradients reached layer ${name}`);
      return sum;
    });
    this.sums.clear();
    return out;
  }

  dispose(): void {
    for (const s of this.sums.values()) {
      s.weight.dispose();
      s.bias?.dispose();
    }
    this.sums.clear();
  }
}

/**
 * Λ of every Linear-like layer of `forward` that has a basis in `bases` (keyed by layer name) for
 * the loss `loss` (scaled as the loss reduces it, like the factors). The caller owns the results.
 */
export function ekfacEigenvalues(
  forward: () => Variable,
  loss: LossTargets,
  bases: ReadonlyMap<string, KronBasis>,
  options: EkfacOptions,
): EkfacLayerEigenvalues[] {
  const acc = new EkfacAccumulator(bases);
  try {
    perTermGradientPasses(forward, loss, { ...options, layers: new Set(bases.keys()) }, (g) => acc.add(g));
    return acc.take();
  } finally {
    acc.dispose();
  }
}
