// K-FAC factors (docs/kfac.md §2-3): one forward pass with the curvature hook on, then one
// backward pass per back-propagated vector column (type-2: C, MC: mcSamples, empirical: 1), each
// seeded at the model outputs. Every Linear-like layer's input factor A comes from the captured
// inputs; its gradient factor G is accumulated inside the gradient hook, so no per-pass gradient is
// kept. Runs on any backend; on WebGPU the factor math is the WGSL factor kernels.
import type { Backend } from '../backend/backend.ts';
import { grad } from '../autograd/backward.ts';
import { noGrad, type Variable } from '../autograd/variable.ts';
import { Rng } from '../random.ts';
import { keep, readAndDispose, scope, type Tensor } from '../tensor.ts';
import { withCurvatureCapture, type KfacForwardCapture, type KfacLayerInfo, type SharingLayout } from '../nn/curvature-hook.ts';
import { computeLoss, lossScaleTensor, type LossTargets } from '../nn/losses.ts';

export type KfacApprox = 'expand' | 'reduce';
export type FisherType = 'type-2' | 'mc' | 'empirical';
export type BiasMode = 'folded' | 'separate';
/** Whether the loss has a term per shared position (expand) or per example (reduce), §2. */
export type LossSetting = 'expand' | 'reduce';

export interface KfacFactorOptions {
  approx: KfacApprox;
  /** Default 'mc' (§3). */
  fisher?: FisherType;
  /** Default 'folded': the constant-1 input is appended last (§2). */
  bias?: BiasMode;
  /** MC samples per loss term (default 1). */
  mcSamples?: number;
  /** Seeds the MC labels. */
  seed?: number;
  /** Override the per-layer inference (a layer whose rows equal the loss terms is in the expand setting). */
  setting?: LossSetting;
  /**
   * Back-propagate each shared position's loss terms in a pass of its own. Examples are
   * independent, so this gives every loss term's own vectors — the per-term rule of §3 — also in
   * models that mix positions (attention), at R times the passes. Default: on for outputs [N, R, C]
   * with the type-2 and empirical Fishers, whose vectors of different terms would otherwise meet
   * in one outer product; off for MC, where one joint pass is already unbiased (the sampled
   * gradients of different terms are independent with zero mean, so the cross terms vanish in
   * expectation; `perPositionPassesNeeded`). Off, one pass seeds all terms at once: exact for
   * position-wise models, the usual cheaper approximation otherwise.
   */
  perPositionPasses?: boolean;
  /**
   * With per-position passes: the positions that get a pass (default all). Positions whose loss
   * terms are all ignored back-propagate zeros and can be left out (`positionsWithTargets`).
   */
  positions?: readonly number[];
  /** Called before each backward pass with the sample/column index and the position (null for a joint pass); for tests and counters. */
  onPass?: (seed: number, position: number | null) => void;
}

/** Whether the factors of `fisher` need per-position passes for outputs of this rank (see KfacFactorOptions.perPositionPasses). */
export function perPositionPassesNeeded(fisher: FisherType, outputRank: number): boolean {
  return outputRank >= 3 && fisher !== 'mc';
}

/**
 * The shared positions r of outputs [N, R, C] at which some cross-entropy target is counted (not
 * ignored); null when every position counts (MSE, or outputs without positions). One small read.
 */
export async function positionsWithTargets(loss: LossTargets, outputShape: readonly number[]): Promise<number[] | null> {
  if (loss.spec.kind !== 'ce' || outputShape.length < 3) return null;
  const be = loss.targets.backend;
  const positions = outputShape[1];
  const counted = scope(() => {
    const mask = be.binaryScalar('greater', be.cast(loss.targets, 'float32'), -0.5);
    const perPosition = be.reduce('sum', be.reshape(mask, [outputShape[0], positions, mask.size / (outputShape[0] * positions)]), 0);
    return keep(be.reshape(perPosition, [perPosition.size]));
  });
  const values = Array.from(await readAndDispose(counted));
  const per = values.length / positions;
  const out: number[] = [];
  for (let r = 0; r < positions; r++) {
    let any = false;
    for (let j = 0; j < per; j++) any ||= values[r * per + j] > 0;
    if (any) out.push(r);
  }
  return out.length === positions ? null : out;
}

export interface LayerFactors {
  /** Layer path, e.g. "blocks.0.attn.q". */
  name: string;
  layer: KfacLayerInfo;
  /** [dIn(+1), dIn(+1)]; with the bias folded the constant-1 row and column are last. */
  A: Tensor;
  /** [dOut, dOut], carrying the loss scaling of §3. With the bias separate, the bias block is G. */
  G: Tensor;
  setting: LossSetting;
  bias: BiasMode;
  /**
   * How many rows A averages over: the layer's input rows (expand) or examples (reduce). Running
   * sums over several batches weight A by it (the curvature toolkit's fitCurvature). Always set by
   * kfacForward; optional only for hand-made factors.
   */
  inputCount?: number;
  /**
   * A is the mean over the rows of the counted (not ignored) loss terms only (expand, cross-
   * entropy): a running sum over batches weighs it by the batch's counted terms, not inputCount.
   */
  overCountedTerms?: boolean;
}

export interface KfacPass {
  loss: Variable;
  outputs: Variable;
  factors: LayerFactors[];
}

/** A forward pass with curvature capture whose factors are computed on demand. */
export interface KfacForwardPass {
  loss: Variable;
  outputs: Variable;
  /** Run the extra backward passes from the outputs and return the batch factors (once). */
  finishFactors(): LayerFactors[];
}

/**
 * The forward pass with curvature capture and the loss. Call inside a scope; tensors made later by
 * finishFactors() belong to the scope that is current then. The caller takes grad(loss, params)
 * on the same graph, before or after the factors.
 */
export function kfacForward(forward: () => Variable, loss: LossTargets, options: KfacFactorOptions): KfacForwardPass {
  const captures: KfacForwardCapture[] = [];
  const outputs = withCurvatureCapture({ capture: (c) => void captures.push(c) }, forward);
  const lossValue = computeLoss(loss.spec, outputs, loss.targets);
  let finished = false;
  return {
    loss: lossValue,
    outputs,
    finishFactors: () => {
      if (finished) throw new Error('kfacForward: finishFactors() was already called for this pass');
      finished = true;
      return batchFactors(captures, outputs, loss, options);
    },
  };
}

/** kfacForward and its factors in one call. */
export function kfacForwardBackward(forward: () => Variable, loss: LossTargets, options: KfacFactorOptions): KfacPass {
  const pass = kfacForward(forward, loss, options);
  return { loss: pass.loss, outputs: pass.outputs, factors: pass.finishFactors() };
}

function batchFactors(captures: KfacForwardCapture[], outputs: Variable, loss: LossTargets, options: KfacFactorOptions): LayerFactors[] {
  const fisher = options.fisher ?? 'mc';
  const biasMode = options.bias ?? 'folded';
  const be = outputs.backend;
  const dtype = outputs.value.dtype;
  const terms = outputs.value.size / outputs.shape[outputs.rank - 1];

  // Expand: a row whose loss term is ignored adds no curvature of its own (§2), so A averages over
  // the counted terms' rows only (the LM head on a task with one target per sequence).
  const rowMask = options.approx === 'expand' ? countedRowWeights(be, loss, outputs.value, dtype) : null;
  const layers = captures.map((c) => {
    const setting = options.setting ?? inferSetting(c, terms);
    const folded = biasMode === 'folded' && c.layer.bias !== null;
    const weights = rowMask && setting === 'expand' && c.input.shape[0] === terms ? rowMask : null;
    return {
      capture: c,
      setting,
      folded,
      weighted: weights !== null,
      A: inputFactor(be, c, options.approx, folded, weights),
      G: null as Tensor | null,
    };
  });
  rowMask?.dispose();

  const perPosition = (options.perPositionPasses ?? perPositionPassesNeeded(fisher, outputs.rank)) && outputs.rank >= 3;
  let collecting = false;
  layers.forEach((l) => {
    l.capture.output.onGrad((b) => {
      if (!collecting) return;
      // K-FAC-reduce sums b over the shared positions of one loss term (§3's per-term rule): in the
      // reduce setting a term is an example; in the expand setting a per-position pass holds a
      // single term's vectors, and a joint MC pass holds them up to cross terms of mean zero.
      const sumOverShared = options.approx === 'reduce' && (l.setting === 'reduce' || perPosition || fisher === 'mc');
      const rows = sumOverShared ? sharedReduce(be, b, l.capture.layout, 'sum') : b;
      const next = be.factor(rows, l.G ? { beta: 1, accumulator: l.G } : {});
      if (rows !== b) rows.dispose();
      l.G?.dispose();
      l.G = next;
    });
  });

  const seeds = noGrad(() => backPropagatedSeeds(be, outputs.value, loss, fisher, options.mcSamples ?? 1, options.seed ?? 0));
  collecting = true;
  try {
    runSeedPasses(outputs, seeds, perPosition, options.onPass, options.positions);
  } finally {
    collecting = false;
  }

  return layers.map((l): LayerFactors => ({
    name: l.capture.layer.name,
    layer: l.capture.layer,
    A: l.A,
    G: l.G ?? be.zeros([l.capture.layer.weight.variable.shape[0], l.capture.layer.weight.variable.shape[0]], dtype),
    setting: l.setting,
    bias: l.folded ? 'folded' : 'separate',
    inputCount: options.approx === 'expand' ? l.capture.input.shape[0] : l.capture.layout.examples,
    ...(l.weighted ? { overCountedTerms: true } : {}),
  }));
}

/**
 * Back-propagate each seed (outputs' shape) from the outputs to every hooked layer output, and
 * dispose it. With `perPosition` (outputs [N, R, ...]) each shared position's terms get a pass of
 * their own (the per-term rule of docs/kfac.md §3); `onPass(seed, position)` runs before each pass,
 * position null without per-position passes.
 */
export function runSeedPasses(
  outputs: Variable,
  seeds: readonly Tensor[],
  perPosition: boolean,
  onPass?: (seed: number, position: number | null) => void,
  only?: readonly number[],
): void {
  const be = outputs.backend;
  try {
    seeds.forEach((seed, k) => {
      if (!perPosition) {
        onPass?.(k, null);
        grad(outputs, [], seed);
        return;
      }
      const positions = outputs.shape[1];
      for (const r of only ?? Array.from({ length: positions }, (_, i) => i)) {
        if (!(Number.isInteger(r) && r >= 0 && r < positions)) throw new Error(`runSeedPasses: position ${r} is not in [0, ${positions})`);
        onPass?.(k, r);
        // No scope here: the hooks' results (running factors) must outlive the pass.
        const onlyR = new Float64Array(positions);
        onlyR[r] = 1;
        const mask = be.tensor(onlyR, [1, positions, ...outputs.shape.slice(2).map(() => 1)], seed.dtype);
        const seedR = be.binary('mul', seed, mask);
        try {
          grad(outputs, [], seedR);
        } finally {
          mask.dispose();
          seedR.dispose();
        }
      }
    });
  } finally {
    for (const seed of seeds) seed.dispose();
  }
}

/** The factors alone, with everything else of the pass released. */
export function computeKfacFactors(forward: () => Variable, loss: LossTargets, options: KfacFactorOptions): LayerFactors[] {
  return scope(() => kfacForwardBackward(forward, loss, options).factors.map((f) => ({ ...f, A: keep(f.A), G: keep(f.G) })));
}

function inferSetting(c: KfacForwardCapture, lossTerms: number): LossSetting {
  return c.input.shape[0] === lossTerms ? 'expand' : 'reduce';
}

/**
 * A: expand 1/(N R) Σ a aᵀ over all rows (with `rowWeights`, Σ w_i a_i a_iᵀ: the mean over the
 * counted rows); reduce 1/N Σ â âᵀ with â the mean over the shared positions.
 */
function inputFactor(be: Backend, c: KfacForwardCapture, approx: KfacApprox, folded: boolean, rowWeights: Tensor | null): Tensor {
  return scope(() => {
    const a = folded ? be.concat([c.input, be.fill([c.input.shape[0], 1], 1, c.input.dtype)], 1) : c.input;
    if (approx === 'expand') {
      if (rowWeights) return be.factor(a, { rowWeights: rowWeights.dtype === a.dtype ? rowWeights : be.cast(rowWeights, a.dtype) });
      return be.factor(a, { alpha: 1 / a.shape[0] });
    }
    const mean = sharedReduce(be, a, c.layout, 'mean');
    return be.factor(mean, { alpha: 1 / mean.shape[0] });
  });
}

/**
 * Row weights [terms] for the expand A: 1/M at the M counted cross-entropy terms, 0 at ignored
 * ones (computed on the device: which targets are ignored is only known there). null for MSE,
 * where every term counts. An all-ignored batch gives zero weights (A = 0: the loss has no terms).
 */
function countedRowWeights(be: Backend, loss: LossTargets, f: Tensor, dtype: Tensor['dtype']): Tensor | null {
  if (loss.spec.kind !== 'ce') return null;
  return scope(() => {
    const mask = be.reshape(be.binaryScalar('greater', be.cast(loss.targets, dtype), -0.5), [f.size / f.shape[f.rank - 1]]);
    const count = be.binaryScalar('max', be.reduce('sum', mask, null), 1);
    return keep(be.binary('div', mask, count));
  });
}

/** Mean or sum of rows [rows, d] over each example's shared positions → [N, d]. */
function sharedReduce(be: Backend, x: Tensor, layout: SharingLayout, op: 'mean' | 'sum'): Tensor {
  const d = x.shape[1];
  if (layout.kind === 'dense') {
    const grouped = be.reshape(x, [layout.examples, layout.positions, d]);
    const out = be.sharedReduce(grouped, op);
    grouped.dispose();
    return out;
  }
  return scope(() => {
    const sums = be.scatterAdd(x, layout.index, layout.examples);
    if (op === 'sum') return sums;
    const counts = be.scatterAdd(be.fill([x.shape[0], 1], 1, x.dtype), layout.index, layout.examples);
    return be.binary('div', sums, counts);
  });
}

// ---- back-propagated vectors (§3) -----------------------------------------------------------------

/**
 * The seeds ∂(·)/∂f for each backward pass, in the outputs' shape: every loss term's column of a
 * square root of its Hessian (type-2), a sampled-label gradient (MC) or the true-label gradient
 * (empirical), all scaled by √c and zero at ignored terms.
 */
export function backPropagatedSeeds(
  be: Backend,
  f: Tensor,
  loss: LossTargets,
  fisher: FisherType,
  samples: number,
  seed: number,
): Tensor[] {
  const { spec, targets } = loss;
  const classes = f.shape[f.rank - 1];
  const dtype = f.dtype;
  return scope(() => {
    const lead = f.shape.slice(0, -1);
    const termMask = spec.kind === 'ce' ? be.binaryScalar('greater', be.cast(targets, dtype), -0.5) : be.fill(lead, 1, dtype);
    const mask = be.reshape(termMask, [...lead, 1]);
    const sqrtC = be.unary('sqrt', lossScaleTensor(spec, f.shape, targets, dtype === 'float64' ? 'float64' : 'float32'));
    const scaled = (t: Tensor) => be.binary('mul', be.binary('mul', t, sqrtC), mask);
    const iota = be.tensor(
      Array.from({ length: classes }, (_, i) => i),
      [classes],
      dtype,
    );
    const oneHot = (labels: Tensor) => be.binary('equal', be.reshape(be.cast(labels, dtype), [...lead, 1]), iota);
    const columnOf = (cls: number) => {
      const e = new Float64Array(classes);
      e[cls] = 1;
      return be.tensor(e, [classes], dtype);
    };
    const out: Tensor[] = [];
    if (spec.kind === 'mse') {
      if (fisher === 'type-2') {
        for (let cls = 0; cls < classes; cls++)
          out.push(scaled(be.binaryScalar('mul', be.binary('mul', be.fill(f.shape, 1, dtype), columnOf(cls)), Math.SQRT2)));
      } else if (fisher === 'empirical') {
        out.push(scaled(be.binaryScalar('mul', be.binary('sub', f, targets), 2)));
      } else {
        // ŷ ~ N(f, ½ I): ∇_f ‖f − ŷ‖² = −2ε with ε ~ N(0, ½ I).
        const rng = new Rng(seed);
        for (let s = 0; s < samples; s++) {
          const eps = be.tensor(rng.normalArray(f.size, Math.SQRT1_2), f.shape, dtype);
          out.push(scaled(be.binaryScalar('mul', eps, -2 / Math.sqrt(samples))));
        }
      }
    } else {
      const p = be.softmax(f);
      if (fisher === 'type-2') {
        // Column k of S = diag(√p) − p √pᵀ is √p_k (e_k − p).
        for (let cls = 0; cls < classes; cls++) {
          const pk = be.slice(p, [...lead.map(() => 0), cls], [...lead, 1]);
          out.push(scaled(be.binary('mul', be.unary('sqrt', pk), be.binary('sub', columnOf(cls), p))));
        }
      } else if (fisher === 'empirical') {
        out.push(scaled(be.binary('sub', p, oneHot(targets))));
      } else {
        // Sampled labels by the Gumbel-max trick: argmax(log p + Gumbel noise) ~ softmax(f), no readback.
        const logp = be.logSoftmax(f);
        const rng = new Rng(seed);
        for (let s = 0; s < samples; s++) {
          const gumbel = new Float64Array(f.size);
          for (let i = 0; i < gumbel.length; i++) gumbel[i] = -Math.log(-Math.log(rng.next() || Number.MIN_VALUE));
          const sampled = be.argmax(be.binary('add', logp, be.tensor(gumbel, f.shape, dtype)), -1);
          out.push(scaled(be.binaryScalar('mul', be.binary('sub', p, oneHot(sampled)), 1 / Math.sqrt(samples))));
        }
      }
    }
    return out;
  });
}
