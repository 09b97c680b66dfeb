// How well a diagonal in a Kronecker eigenbasis fits a layer's curvature block
// (docs/curvature-tools.md §1): ‖F − (Q_G⊗Q_A) diag(d) (Q_G⊗Q_A)ᵀ‖_F / ‖F‖_F, float64 on the host.
// d = κμᵀ is K-FAC (G ⊗ A with its eigenvalues clamped at 0), d = Λ is EK-FAC.

/**
 * (Q_G⊗Q_A) diag(d) (Q_G⊗Q_A)ᵀ as a dense P×P row-major matrix (P = dG·dA, vec row-major), by
 * contracting one factor at a time: T[i] = Q_A diag(d_i·) Q_Aᵀ, then Σ_i Q_G[p,i] Q_G[q,i] T[i].
 * O(dG·dA³ + P²·dG) rather than the O(P³) of forming Q_G⊗Q_A.
 */
export function kronDiagonalMatrix(
  QG: ArrayLike<number>,
  dG: number,
  QA: ArrayLike<number>,
  dA: number,
  d: ArrayLike<number>,
): Float64Array {
  if (QG.length !== dG * dG || QA.length !== dA * dA || d.length !== dG * dA) {
    throw new Error(`kronDiagonalMatrix: Q_G ${QG.length}, Q_A ${QA.length}, d ${d.length} do not fit dG = ${dG}, dA = ${dA}`);
  }
  const T = new Float64Array(dG * dA * dA);
  for (let i = 0; i < dG; i++) {
    for (let p = 0; p < dA; p++) {
      for (let q = 0; q <= p; q++) {
        let s = 0;
        for (let j = 0; j < dA; j++) s += QA[p * dA + j] * d[i * dA + j] * QA[q * dA + j];
        T[(i * dA + p) * dA + q] = s;
        T[(i * dA + q) * dA + p] = s;
      }
    }
  }
  const P = dG * dA;
  const out = new Float64Array(P * P);
  for (let p1 = 0; p1 < dG; p1++) {
    for (let q1 = 0; q1 < dG; q1++) {
      for (let i = 0; i < dG; i++) {
        const g = QG[p1 * dG + i] * QG[q1 * dG + i];
        if (g === 0) continue;
        const Ti = i * dA * dA;
        for (let p2 = 0; p2 < dA; p2++) {
          const row = (p1 * dA + p2) * P + q1 * dA;
          const Trow = Ti + p2 * dA;
          for (let q2 = 0; q2 < dA; q2++) out[row + q2] += g * T[Trow + q2];
        }
      }
    }
  }
  return out;
}

/** ‖F − M‖_F / ‖F‖_F (NaN when F is zero). */
export function relativeFrobenius(F: ArrayLike<number>, M: ArrayLike<number>): number {
  if (F.length !== M.length) throw new Error(`relativeFrobenius: ${F.length} and ${M.length} entries`);
  let diff = 0;
  let norm = 0;
  for (let k = 0; k < F.length; k++) {
    diff += (F[k] - M[k]) ** 2;
    norm += F[k] ** 2;
  }
  return Math.sqrt(diff / norm);
}

/** The relative Frobenius fit of the diagonal d in the basis Q_G ⊗ Q_A to the P×P block F. */
export function kronDiagonalFit(
  F: ArrayLike<number>,
  QG: ArrayLike<number>,
  dG: number,
  QA: ArrayLike<number>,
  dA: number,
  d: ArrayLike<number>,
): number {
  return relativeFrobenius(F, kronDiagonalMatrix(QG, dG, QA, dA, d));
}
