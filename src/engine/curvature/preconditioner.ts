// Applying the inverse Kronecker curvature to a layer's gradient (docs/kfac.md §4 steps 3-4), all
// on the device. With the bias folded, the layer's gradient matrix is V = [∇W | ∇b] (dOut × (dIn+1)),
// matching A's constant-1 row and column being last (§2).
import type { Backend } from '../backend/backend.ts';
import { scope, type Tensor } from '../tensor.ts';

/** V = [∇W | ∇b] ([dOut, dIn + 1]) when the bias is folded, else ∇W itself (a copy-free view). */
export function gradientMatrix(be: Backend, weightGrad: Tensor, biasGrad: Tensor | null): Tensor {
  if (!biasGrad) return be.reshape(weightGrad, weightGrad.shape);
  return scope(() => be.concat([weightGrad, be.reshape(biasGrad, [biasGrad.size, 1])], 1));
}

/** The inverse of gradientMatrix: Δ [dOut, dIn(+1)] → the weight part [dOut, dIn] and the bias part [dOut] (or null). */
export function splitUpdate(be: Backend, delta: Tensor, dIn: number, folded: boolean): { weight: Tensor; bias: Tensor | null } {
  const dOut = delta.shape[0];
  if (!folded) return { weight: be.reshape(delta, delta.shape), bias: null };
  return scope(() => ({
    weight: be.slice(delta, [0, 0], [dOut, dIn]),
    bias: be.reshape(be.slice(delta, [0, dIn], [dOut, 1]), [dOut]),
  }));
}

/** Δ = G⁻¹ V A⁻¹ with the damped inverses of the Cholesky method. */
export function choleskyPrecondition(be: Backend, v: Tensor, inverseG: Tensor, inverseA: Tensor): Tensor {
  return scope(() => be.matmul(be.matmul(inverseG, v), inverseA));
}

export interface KroneckerEigenbasis {
  /** Eigenvectors (columns) and eigenvalues (clamped at 0) of A: [dA, dA], [dA]. */
  vectorsA: Tensor;
  valuesA: Tensor;
  /** The same for G: [dG, dG], [dG]. */
  vectorsG: Tensor;
  valuesG: Tensor;
}

/**
 * P(V) = Q_G [(Q_Gᵀ V Q_A) ⊘ (κ μᵀ + λ)] Q_Aᵀ: (G ⊗ A + λ I)⁻¹ vec V, damping exact in the Kronecker
 * product (§4, eigen method). With `valuesA` null A is the scalar 1 (a separate bias block, whose
 * curvature is G itself): P(v) = Q_G [(Q_Gᵀ v) ⊘ (κ + λ)] for v [dG].
 */
export function eigenPrecondition(
  be: Backend,
  v: Tensor,
  basis: KroneckerEigenbasis | Omit<KroneckerEigenbasis, 'vectorsA' | 'valuesA'>,
  damping: number,
): Tensor {
  return scope(() => {
    const dG = basis.valuesG.size;
    if (!('vectorsA' in basis)) {
      const column = be.reshape(v, [dG, 1]);
      const rotated = be.matmul(basis.vectorsG, column, { transA: true });
      const scaled = be.binary('div', rotated, be.binaryScalar('add', be.reshape(basis.valuesG, [dG, 1]), damping));
      return be.reshape(be.matmul(basis.vectorsG, scaled), v.shape);
    }
    const dA = basis.valuesA.size;
    const rotated = be.matmul(be.matmul(basis.vectorsG, v, { transA: true }), basis.vectorsA);
    const denominators = be.binaryScalar(
      'add',
      be.binary('mul', be.reshape(basis.valuesG, [dG, 1]), be.reshape(basis.valuesA, [1, dA])),
      damping,
    );
    return be.matmul(be.matmul(basis.vectorsG, be.binary('div', rotated, denominators)), basis.vectorsA, { transB: true });
  });
}

/** Σ Δ ⊙ V over one layer's blocks, as [1] (KL clipping's ingredient and the update-health signal). */
export function innerProduct(be: Backend, pairs: readonly (readonly [Tensor, Tensor])[]): Tensor {
  return scope(() => {
    const sums = pairs.map(([a, b]) => be.reshape(be.reduce('sum', be.binary('mul', a, b), null), [1]));
    return sums.length === 1 ? sums[0] : be.reshape(be.reduce('sum', be.concat(sums, 0), null), [1]);
  });
}

/**
 * KL clipping (kfac-pytorch, §4 step 4): ν = min(1, sqrt(κ / |η² Σ_layers Σ Δ ⊙ V|)) as a device
 * scalar [] from the per-layer sums [L] — no read-back. A zero sum gives ν = 1.
 */
export function klClipScale(be: Backend, layerSums: Tensor, lr: number, klClip: number): Tensor {
  return scope(() => {
    const total = be.binaryScalar('mul', be.unary('abs', be.reduce('sum', layerSums, null)), lr * lr);
    // κ / max(total, tiny) instead of κ / total: WGSL does not promise IEEE infinities for x / 0.
    const ratio = be.binaryScalar('div', be.binaryScalar('max', total, 1e-30), klClip, true);
    return be.binaryScalar('min', be.unary('sqrt', ratio), 1);
  });
}

/** δᵀ (G ⊗ A) δ = Σ δ ⊙ (G δ A) for one layer's step δ [dOut, dIn(+1)], as [1] (the quadratic model's curvature term). */
export function kroneckerQuadratic(be: Backend, delta: Tensor, g: Tensor, a: Tensor | null): Tensor {
  return scope(() => {
    const gd = be.matmul(g, a ? delta : be.reshape(delta, [delta.size, 1]));
    const curved = a ? be.matmul(gd, a) : gd;
    return be.reshape(be.reduce('sum', be.binary('mul', be.reshape(curved, delta.shape), delta), null), [1]);
  });
}
