// K-FAC's factors of a model over a whole data set (docs/curvature-tools.md §0-§1): one kfacForward
// per batch — the optimizer's own factor code (docs/kfac.md §2-§3) — summed so that the result
// equals one batch of all the data: A weighted by the rows (expand) or examples (reduce) it averages
// over, G by the loss scale c of the whole set (a mean loss gives each batch c = 1/M_b).
import type { Module } from '../nn/module.ts';
import { keep, scope, type Tensor } from '../tensor.ts';
import { batchTerms, forEachBatch, LossScaleTracker, type CurvatureData, type RunControl } from './data.ts';
import {
  kfacForward,
  type BiasMode,
  type FisherType,
  type KfacApprox,
  type KfacFactorOptions,
  type LayerFactors,
  type LossSetting,
} from './factors.ts';
import { FactorBlock, kroneckerBlock, type EighChoice, type KroneckerBlock } from './kronecker.ts';

/** kfacForward's options (one batch at a time), except that fisher defaults differently and seed advances per batch. */
export interface FitOptions extends RunControl, Pick<KfacFactorOptions, 'approx' | 'bias' | 'mcSamples' | 'setting'> {
  /** Default 'type-2' (kfacForward's own default is 'mc'). */
  fisher?: FisherType;
  /** Seeds the MC labels (batch i uses seed + i; default 0). */
  seed?: number;
  /** The eigensolver of the layers' lazy eigen() (default 'auto': see DEVICE_EIGH_MAX). */
  eigh?: EighChoice;
}

/** The options a curvature was fitted with, defaults filled in. */
export interface FittedOptions {
  approx: KfacApprox;
  fisher: FisherType;
  bias: BiasMode;
  mcSamples: number;
  seed: number;
  setting?: LossSetting;
}

export interface KroneckerLayer extends KroneckerBlock {
  /** Position among the model's K-FAC layers (as `factors` counts them). */
  readonly index: number;
  /** Layer path, e.g. "blocks.0.attn.q". */
  readonly name: string;
  readonly dIn: number;
  /** 'folded': width = dIn + 1; 'separate': see biasBlock; 'none': the layer has no bias. */
  readonly bias: BiasMode | 'none';
  readonly setting: LossSetting;
  /** The separate bias's block G ⊗ [1] (its vectors are [dOut, 1]); null unless bias = 'separate'. */
  readonly biasBlock: KroneckerBlock | null;
}

export interface KroneckerCurvature {
  layers: KroneckerLayer[];
  options: FittedOptions;
  /** Loss terms (non-ignored) over the data set, and c of the whole set. */
  terms: number;
  lossScale: number;
  /** Wall time of the fit, ms. */
  fitMs: number;
  dispose(): void;
}

class FittedLayer extends FactorBlock implements KroneckerLayer {
  constructor(
    readonly index: number,
    readonly name: string,
    readonly dIn: number,
    readonly bias: BiasMode | 'none',
    readonly setting: LossSetting,
    A: Tensor,
    G: Tensor,
    readonly biasBlock: KroneckerBlock | null,
    eigh: EighChoice,
  ) {
    super(A, G, eigh);
  }

  override dispose(): void {
    super.dispose();
    this.biasBlock?.dispose();
  }
}

interface RunningLayer {
  factors: Omit<LayerFactors, 'A' | 'G'>;
  /** Σ_b n_b A_b and Σ_b G_b / c_b. */
  A: Tensor;
  G: Tensor;
  rows: number;
}

/**
 * Fit the factors over every batch of `data`. Works on either backend; asynchronous (reads the
 * loss-term counts, yields between batches for progress and cancel). The caller disposes the result.
 */
export async function fitCurvature(model: Module, data: CurvatureData, options: FitOptions): Promise<KroneckerCurvature> {
  const fitted: FittedOptions = {
    approx: options.approx,
    fisher: options.fisher ?? 'type-2',
    bias: options.bias ?? 'folded',
    mcSamples: options.mcSamples ?? 1,
    seed: options.seed ?? 0,
    ...(options.setting ? { setting: options.setting } : {}),
  };
  if (fitted.approx !== 'expand' && fitted.approx !== 'reduce')
    throw new Error(`fitCurvature: approx must be 'expand' or 'reduce', got ${String(fitted.approx)}`);
  if (!(data.batches >= 1)) throw new Error('fitCurvature: the data set has no batches');
  const started = performance.now();
  const parameters = new Set(model.parameters().map((p) => p.variable));
  const scales = new LossScaleTracker();
  // Assigned in the batch callback: the cast keeps TypeScript from narrowing it to null after the loop.
  let running = null as RunningLayer[] | null;
  try {
    await forEachBatch(data, options, 'fitCurvature', async (batch, i) => {
      const { factors, shape } = scope(() => {
        const pass = kfacForward(batch.forward, batch.loss, { ...fitted, seed: fitted.seed + i });
        const factors = pass.finishFactors().map((f) => ({ ...f, A: keep(f.A), G: keep(f.G) }));
        return { factors, shape: [...pass.outputs.shape] };
      });
      try {
        for (const f of factors) {
          if (!parameters.has(f.layer.weight.variable))
            throw new Error(`fitCurvature: layer "${f.name}" of the forward pass is not part of the model`);
        }
        const counted = await batchTerms(batch.loss, shape);
        const inverseScale = scales.add(batch.loss, counted);
        running = accumulate(running, factors, inverseScale, counted.terms);
      } finally {
        for (const f of factors) {
          f.A.dispose();
          f.G.dispose();
        }
      }
    });
  } catch (e) {
    for (const l of running ?? []) {
      l.A.dispose();
      l.G.dispose();
    }
    throw e;
  }
  const layers = finish(running ?? [], scales.scale, options.eigh ?? 'auto');
  return {
    layers,
    options: fitted,
    terms: scales.totalTerms,
    lossScale: scales.scale,
    fitMs: performance.now() - started,
    dispose: () => layers.forEach((l) => l.dispose()),
  };
}

function accumulate(
  running: RunningLayer[] | null,
  factors: readonly LayerFactors[],
  inverseScale: number,
  countedTerms: number,
): RunningLayer[] {
  if (running && (running.length !== factors.length || running.some((l, k) => l.factors.name !== factors[k].name))) {
    throw new Error(
      `fitCurvature: batches capture different layers ([${running.map((l) => l.factors.name).join(', ')}] vs [${factors.map((f) => f.name).join(', ')}])`,
    );
  }
  return factors.map((f, k) => {
    // An expand A over the counted terms' rows only (factors.ts) weighs its batch by those terms.
    const rows = f.overCountedTerms ? countedTerms : (f.inputCount ?? f.A.shape[0]);
    const be = f.A.backend;
    const prev = running?.[k];
    const next = scope(() => {
      const A = be.binaryScalar('mul', f.A, rows);
      const G = be.binaryScalar('mul', f.G, inverseScale);
      return {
        A: keep(prev ? be.binary('add', prev.A, A) : A),
        G: keep(prev ? be.binary('add', prev.G, G) : G),
      };
    });
    prev?.A.dispose();
    prev?.G.dispose();
    const { A: _a, G: _g, ...meta } = f;
    void _a;
    void _g;
    return { factors: meta, A: next.A, G: next.G, rows: (prev?.rows ?? 0) + rows };
  });
}

function finish(running: readonly RunningLayer[], lossScale: number, eigh: EighChoice): KroneckerLayer[] {
  return running.map((l, index) => {
    const be = l.A.backend;
    const { A, G, biasG } = scope(() => {
      const A = keep(be.binaryScalar('mul', l.A, 1 / Math.max(1, l.rows)));
      const G = keep(be.binaryScalar('mul', l.G, lossScale));
      return { A, G, biasG: l.factors.bias === 'separate' && l.factors.layer.bias ? keep(be.cast(G, G.dtype)) : null };
    });
    l.A.dispose();
    l.G.dispose();
    const info = l.factors.layer;
    const bias = info.bias === null ? 'none' : l.factors.bias;
    return new FittedLayer(
      index,
      l.factors.name,
      info.weight.variable.shape[1],
      bias,
      l.factors.setting,
      A,
      G,
      biasG ? kroneckerBlock(null, biasG, { eigh }) : null,
      eigh,
    );
  });
}
