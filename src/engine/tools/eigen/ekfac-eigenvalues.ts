// EK-FAC's eigenvalues (docs/curvature-tools.md §1, George et al. 2018): in K-FAC's eigenbasis
// Q_G ⊗ Q_A, the best diagonal of the layer's curvature block,
//   Λ_ij = Σ_m Σ_k ((Q_Gᵀ Γ_{m,k} Q_A)_ij)²,   Γ_{m,k} = Σ_{r ∈ term m} b_r^{(m,k)} a_rᵀ,
// from one forward pass and one backward pass per back-propagated column k (the same seeds as the
// factors, docs/kfac.md §3). Nothing of size P×P is formed: the captured rows are projected,
// ã = a Q_A and b̃ = b Q_G, and Q_Gᵀ Γ Q_A = Σ_r b̃_rᵀ ã_r is one batched matmul over the terms.
// Runs on any backend (device work only; the caller reads the results).
//
// Which rows form one loss term m (the per-term rule of docs/kfac.md §3): when the outputs keep the
// shared positions ([N, R, C], expand setting) each position's terms get a backward pass of their
// own and the rows of one example are summed; otherwise a layer whose rows are the loss terms (an
// MLP, R = 1) takes each row alone, and a layer with more rows than terms (reduce setting) sums each
// example's rows.
import { grad } from '../../autograd/backward.ts';
import { noGrad, type Variable } from '../../autograd/variable.ts';
import type { Backend } from '../../backend/backend.ts';
import { backPropagatedSeeds, type BiasMode, type FisherType } from '../../curvature/factors.ts';
import { withCurvatureCapture, type KfacForwardCapture, type KfacLayerInfo } from '../../nn/curvature-hook.ts';
import type { LossTargets } from '../../nn/losses.ts';
import { keep, scope, type Tensor } from '../../tensor.ts';

/** K-FAC's eigenvectors of one layer, as columns, on the model's backend and in its dtype. */
export interface KronBasis {
  /** [dIn(+1), dIn(+1)] (with the bias folded, the constant-1 input last). */
  QA: Tensor;
  /** [dOut, dOut]. */
  QG: Tensor;
}

export interface EkfacOptions {
  fisher: FisherType;
  /** MC samples per loss term (default 1). */
  mcSamples?: number;
  /** Seeds the MC labels (default 0). */
  seed?: number;
  bias: BiasMode;
}

export interface EkfacLayerEigenvalues {
  layer: KfacLayerInfo;
  /** Λ [dOut, dIn(+1)]. */
  weight: Tensor;
  /** With a separate bias: [dOut], Σ_{m,k} ((Q_Gᵀ γ_{m,k})_i)² of the bias gradients; else null. */
  bias: Tensor | null;
}

/**
 * Λ of every Linear-like layer of `forward` that has a basis in `bases` (keyed by layer name) for
 * the loss `loss` (scaled as the loss reduces it, like the factors). The returned tensors are kept:
 * the caller disposes them.
 */
export function ekfacEigenvalues(
  forward: () => Variable,
  loss: LossTargets,
  bases: ReadonlyMap<string, KronBasis>,
  options: EkfacOptions,
): EkfacLayerEigenvalues[] {
  return scope(() => {
    const captures: KfacForwardCapture[] = [];
    const outputs = withCurvatureCapture({ capture: (c) => void captures.push(c) }, forward);
    const be = outputs.backend;
    const dtype = outputs.value.dtype;
    const terms = outputs.value.size / outputs.shape[outputs.rank - 1];
    const perPosition = outputs.rank >= 3;

    const layers = captures
      .filter((c) => bases.has(c.layer.name))
      .map((c) => {
        const basis = bases.get(c.layer.name)!;
        const folded = options.bias === 'folded' && c.layer.bias !== null;
        const a = folded ? be.concat([c.input, be.fill([c.input.shape[0], 1], 1, c.input.dtype)], 1) : c.input;
        if (a.shape[1] !== basis.QA.shape[0] || c.output.shape[c.output.rank - 1] !== basis.QG.shape[0]) {
          throw new Error(
            `ekfacEigenvalues: layer ${c.layer.name} has A of size ${a.shape[1]} and G of size ${c.output.shape[c.output.rank - 1]}, the basis [${basis.QA.shape[0]}, ${basis.QG.shape[0]}]`,
          );
        }
        const rows = a.shape[0];
        const grouping = groupingOf(c, rows, terms, perPosition);
        return {
          capture: c,
          basis,
          grouping,
          projectedA: be.matmul(a, basis.QA), // ã = a Q_A, [rows, dA]
          separateBias: !folded && c.layer.bias !== null,
          weight: null as Tensor | null,
          bias: null as Tensor | null,
        };
      });
    if (layers.length !== bases.size) {
      const missing = [...bases.keys()].filter((name) => !layers.some((l) => l.capture.layer.name === name));
      throw new Error(`ekfacEigenvalues: the forward pass has no Linear-like layer named ${missing.join(', ')}`);
    }

    let collecting = false;
    for (const l of layers) {
      l.capture.output.onGrad((g) => {
        if (!collecting) return;
        const { weight, bias } = scope(() => {
          const b = be.reshape(g, [l.projectedA.shape[0], l.basis.QG.shape[0]]);
          const projectedB = be.matmul(b, l.basis.QG); // b̃ = b Q_G, [rows, dG]
          const { weight: w, bias: bb } = squaredTermSums(be, projectedB, l.projectedA, l.grouping, l.separateBias);
          return {
            weight: keep(l.weight ? be.binary('add', l.weight, w) : w),
            bias: bb ? keep(l.bias ? be.binary('add', l.bias, bb) : bb) : null,
          };
        });
        l.weight?.dispose();
        l.bias?.dispose();
        l.weight = weight;
        l.bias = bias;
      });
    }

    const seeds = noGrad(() => backPropagatedSeeds(be, outputs.value, loss, options.fisher, options.mcSamples ?? 1, options.seed ?? 0));
    collecting = true;
    try {
      for (const seed of seeds) {
        if (perPosition) {
          const positions = outputs.shape[1];
          for (let r = 0; r < positions; r++) {
            scope(() => {
              const onlyR = new Float64Array(positions);
              onlyR[r] = 1;
              const mask = be.tensor(onlyR, [1, positions, ...outputs.shape.slice(2).map(() => 1)], dtype);
              grad(outputs, [], be.binary('mul', seed, mask));
            });
          }
        } else grad(outputs, [], seed);
      }
    } finally {
      collecting = false;
    }

    return layers.map((l) => {
      const [dA, dG] = [l.basis.QA.shape[0], l.basis.QG.shape[0]];
      const weight = l.weight ?? be.zeros([dG, dA], dtype);
      const bias = l.separateBias ? (l.bias ?? be.zeros([dG], dtype)) : null;
      return { layer: l.capture.layer, weight: keep(weight), bias: bias ? keep(bias) : null };
    });
  });
}

/** How the captured rows group into loss terms: one per row, or `examples` blocks of `positions` rows. */
type Grouping = { kind: 'rows' } | { kind: 'examples'; examples: number; positions: number };

function groupingOf(c: KfacForwardCapture, rows: number, terms: number, perPosition: boolean): Grouping {
  if (!perPosition && rows === terms) return { kind: 'rows' };
  if (c.layout.kind !== 'dense') {
    throw new Error(`ekfacEigenvalues: layer ${c.layer.name} groups its rows into examples of different sizes, which is not supported yet`);
  }
  return { kind: 'examples', examples: c.layout.examples, positions: c.layout.positions };
}

/**
 * Σ over terms of (Σ_{r ∈ term} b̃_r ã_rᵀ)² elementwise ([dG, dA]) and, for a separate bias,
 * Σ over terms of (Σ_{r ∈ term} b̃_r)² ([dG]).
 */
function squaredTermSums(
  be: Backend,
  pb: Tensor,
  pa: Tensor,
  grouping: Grouping,
  withBias: boolean,
): { weight: Tensor; bias: Tensor | null } {
  const square = (t: Tensor) => be.binary('mul', t, t);
  if (grouping.kind === 'rows') {
    return {
      weight: be.matmul(square(pb), square(pa), { transA: true }),
      bias: withBias ? be.reduce('sum', square(pb), 0) : null,
    };
  }
  const { examples, positions } = grouping;
  const b3 = be.reshape(pb, [examples, positions, pb.shape[1]]);
  const a3 = be.reshape(pa, [examples, positions, pa.shape[1]]);
  const perTerm = be.matmul(b3, a3, { transA: true }); // [N, dG, dA]
  return {
    weight: be.reduce('sum', square(perTerm), 0),
    bias: withBias ? be.reduce('sum', square(be.reduce('sum', b3, 1)), 0) : null,
  };
}
