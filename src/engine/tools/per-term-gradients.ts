// Per-term gradients of Linear-like layers (docs/curvature-tools.md §1): for each loss term m and
// back-propagated column k of the Fisher type (the seeds of the factors, docs/kfac.md §3),
//   Γ_{m,k} = Σ_{r ∈ term m} b_r^{(m,k)} a_rᵀ   ([dOut, width]; width = dIn + 1 with the bias folded)
// and, with the bias separate, γ_{m,k} = Σ_r b_r^{(m,k)}. One forward pass; one backward pass per
// column k, or per column and shared position when the outputs keep the positions ([N, R, C], the
// expand setting), so that every pass holds one term's vectors per example even in models that mix
// positions (attention). Σ_{m,k} vec(Γ) vec(Γ)ᵀ is then the layer's exact GGN block (type-2) or
// empirical Fisher block: the curvature report's exact blocks come from them (EK-FAC itself is the
// curvature toolkit's fitEkfac, which projects the same vectors without forming Γ).
//
// Which rows form one term: in a per-position pass, or when a layer has more rows than there are
// loss terms (reduce setting), the rows of one example (also ragged ones: graphs of different sizes);
// otherwise (an MLP, R = 1; a node-level loss) each row alone. Examples must be independent in the
// forward pass (no batch statistics).
import { grad } from '../autograd/backward.ts';
import { noGrad, type Variable } from '../autograd/variable.ts';
import { backPropagatedSeeds, type BiasMode, type FisherType } from '../curvature/factors.ts';
import { withCurvatureCapture, type KfacForwardCapture, type KfacLayerInfo } from '../nn/curvature-hook.ts';
import type { LossTargets } from '../nn/losses.ts';
import { scope, type Tensor } from '../tensor.ts';

export interface PerTermOptions {
  fisher: FisherType;
  /** MC samples per loss term (default 1). */
  mcSamples?: number;
  /** Seeds the MC labels (default 0). */
  seed?: number;
  bias: BiasMode;
  /** Only the layers with these names (default all). */
  layers?: ReadonlySet<string>;
}

export interface TermGradients {
  layer: KfacLayerInfo;
  /** The layer's bias is folded into Γ (its last column). */
  folded: boolean;
  /** Γ for every term of this pass: [T, dOut, width]. */
  weight: Tensor;
  /** With a separate bias: γ [T, dOut]; else null. */
  bias: Tensor | null;
}

/**
 * Run the passes of one batch; `visit` receives each layer's per-term gradients of each backward
 * pass, synchronously inside the pass (the tensors are freed after it returns: keep what you need,
 * e.g. a running sum). Everything else the passes make is freed.
 */
export function perTermGradientPasses(
  forward: () => Variable,
  loss: LossTargets,
  options: PerTermOptions,
  visit: (gradients: TermGradients) => void,
): void {
  scope(() => {
    const captures: KfacForwardCapture[] = [];
    const outputs = withCurvatureCapture({ capture: (c) => void captures.push(c) }, forward);
    const be = outputs.backend;
    const dtype = outputs.value.dtype;
    const terms = outputs.value.size / outputs.shape[outputs.rank - 1];
    const perPosition = outputs.rank >= 3;

    const layers = captures
      .filter((c) => options.layers?.has(c.layer.name) ?? true)
      .map((c) => {
        const folded = options.bias === 'folded' && c.layer.bias !== null;
        const a = folded ? be.concat([c.input, be.fill([c.input.shape[0], 1], 1, c.input.dtype)], 1) : c.input;
        const grouping = groupingOf(c, a.shape[0], terms, perPosition);
        const grouped =
          grouping.kind === 'dense'
            ? be.reshape(a, [grouping.groups, grouping.rowsPerGroup, a.shape[1]])
            : be.reshape(a, [a.shape[0], 1, a.shape[1]]); // ragged: one row at a time, then summed per example
        return { capture: c, folded, grouped, grouping };
      });
    if (options.layers) {
      const missing = [...options.layers].filter((name) => !layers.some((l) => l.capture.layer.name === name));
      if (missing.length > 0)
        throw new Error(`perTermGradientPasses: the forward pass has no Linear-like layer named ${missing.join(', ')}`);
    }

    let collecting = false;
    for (const l of layers) {
      l.capture.output.onGrad((g) => {
        if (!collecting) return;
        scope(() => {
          const dOut = l.capture.output.shape[l.capture.output.rank - 1];
          const withBias = !l.folded && l.capture.layer.bias !== null;
          const grouping = l.grouping;
          if (grouping.kind === 'dense') {
            const b = be.reshape(g, [grouping.groups, grouping.rowsPerGroup, dOut]);
            visit({
              layer: l.capture.layer,
              folded: l.folded,
              weight: be.matmul(b, l.grouped, { transA: true }), // Σ_r b_r a_rᵀ per term: [T, dOut, width]
              bias: withBias ? be.reduce('sum', b, 1) : null,
            });
            return;
          }
          // Ragged examples: each row's outer product b_r a_rᵀ, summed into its example's Γ.
          const rows = l.grouped.shape[0];
          const width = l.grouped.shape[2];
          const b = be.reshape(g, [rows, dOut]);
          const outer = be.reshape(be.matmul(be.reshape(b, [rows, 1, dOut]), l.grouped, { transA: true }), [rows, dOut * width]);
          visit({
            layer: l.capture.layer,
            folded: l.folded,
            weight: be.reshape(be.scatterAdd(outer, grouping.index, grouping.examples), [grouping.examples, dOut, width]),
            bias: withBias ? be.scatterAdd(b, grouping.index, grouping.examples) : null,
          });
        });
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
  });
}

/** How a capture's rows form terms: consecutive groups of equal size, or ragged examples by index. */
type Grouping = { kind: 'dense'; groups: number; rowsPerGroup: number } | { kind: 'segments'; examples: number; index: Tensor };

function groupingOf(c: KfacForwardCapture, rows: number, terms: number, perPosition: boolean): Grouping {
  if (!perPosition && rows === terms) return { kind: 'dense', groups: rows, rowsPerGroup: 1 };
  if (c.layout.kind === 'segments') return { kind: 'segments', examples: c.layout.examples, index: c.layout.index };
  return { kind: 'dense', groups: c.layout.examples, rowsPerGroup: c.layout.positions };
}
