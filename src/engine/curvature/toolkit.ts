// The curvature toolkit's public API (docs/curvature-tools.md §0-§1): K-FAC factors fitted over a
// whole data set, a Kronecker-factored curvature object per layer with the operations the tools need
// (products, damped inverses, log-determinants, spectra), EK-FAC's diagonal Λ in K-FAC's eigenbasis,
// per-example gradients, and the dense exact GGN of tiny models (the oracle of every tool).
//
// Conventions (docs/kfac.md §2-§3):
// - A layer's "matrix-shaped vector" V is a tensor [dOut, width] with width = dIn + 1 when the bias is
//   folded (the bias column last) and dIn otherwise; vec(V) is row-major (V.flatten()), so the
//   layer's curvature block is G ⊗ A acting as V ↦ G V A. A batch of them is [B, dOut, width].
// - A separate bias has its own block G ⊗ [1]: the same operations on [dOut, 1] (or [B, dOut, 1]).
// - The curvature is that of the training loss L = c Σ_m ℓ_m as each batch reduces it (sum or mean),
//   over the whole data set: the result equals one batch of all the data.
// - Device tensors returned by the toolkit belong to the caller (dispose them) unless a doc comment
//   says the object owns them; host arrays are float64.
// - Eigenvalues are clamped at 0 and DESCENDING; eigenvectors are the columns of [n, n] matrices.
// - Methods that read back or may have to decompose are async; pure device arithmetic is sync.

export type { BiasMode, FisherType, KfacApprox, LossSetting } from './factors.ts';
export { batchList, taskData, type CurvatureBatch, type CurvatureData, type Progress, type RunControl } from './data.ts';
export { fitCurvature, type FitOptions, type FittedOptions, type KroneckerCurvature, type KroneckerLayer } from './fit.ts';
export {
  DEVICE_EIGH_MAX,
  eighSolverFor,
  kroneckerBlock,
  type EighChoice,
  type InverseOptions,
  type KroneckerBlock,
  type KroneckerEigen,
  type KroneckerEigenHost,
} from './kronecker.ts';
export { fitEkfac, type EkfacBlock, type EkfacCurvature, type EkfacLayer, type EkfacOptions } from './ekfac.ts';
export { perExampleGradients, type PerExampleLayerGradients, type PerExampleOptions } from './per-example.ts';
/**
 * The dense exact GGN (type-2) or empirical Fisher of ALL K-FAC parameters of a tiny model, float64
 * on the CPU backend, in the toolkit's layout: layer by layer, each layer's vec(V) (row-major
 * [dOut, width]) followed, with the bias separate, by its bias block.
 */
export { exactCurvatureMatrix, type ExactCurvatureMatrix, type ExactCurvatureOptions } from './exact-ggn.ts';
