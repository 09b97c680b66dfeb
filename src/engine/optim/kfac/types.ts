// The named shapes of the K-FAC optimizer (kfac-optimizer.ts): its settings and options, step
// results and phase names, the events the lab shows, and the per-layer state it keeps.
import type { AdaptiveDampingSettings } from '../../curvature/damping.ts';
import type { KfacApprox, LossSetting } from '../../curvature/factors.ts';
import type { EigenPair } from '../../curvature/inverses.ts';
import type { KfacLayerInfo } from '../../nn/curvature-hook.ts';
import type { NamedParameter } from '../../nn/module.ts';
import type { Tensor } from '../../tensor.ts';
import type { GradientOptimizer, TrainStepArgs, TrainStepResult } from '../optimizer.ts';
import type { HyperValues } from '../schema.ts';
import type { ScheduleSettings } from '../schedules.ts';

/** The schema's K-FAC hyperparameters (identical for kfac-expand and kfac-reduce). */
export type KfacSettings = HyperValues<'kfac-expand'>;
export type InverseMethod = KfacSettings['inverseMethod'];

export interface KfacOptions {
  approx: KfacApprox;
  schedule?: ScheduleSettings;
  /** Optimizer for the parameters no K-FAC layer covers; default: the settings' `fallback` at `fallbackLr` (fallback.ts). */
  fallback?: GradientOptimizer;
  /** Global gradient-norm clipping of the raw gradients before preconditioning (the schema's clip.maxNorm); 0 = off. */
  clipMaxNorm?: number;
  /** Measure per-phase times (each phase ends with a device sync). Can be switched later via `timing`. */
  timing?: boolean;
  /** Seeds the Monte Carlo labels (a different stream each step; mcSeed). The lab passes the experiment seed. */
  seed?: number;
  /** Read ν back after each clipped step so the result carries `klScale` (default true; one scalar read per step). */
  reportKlScale?: boolean;
  /** Called before each factor backward pass (sample/column, position or null for a joint pass); for tests and counters. */
  onFactorPass?: (seed: number, position: number | null) => void;
  /** Force the loss setting of every layer instead of inferring it (factors.ts). */
  setting?: LossSetting;
  /** Cholesky retries with 10× more jitter each (default 4), the first at `choleskyJitter` × mean diagonal (default 1e-4). */
  choleskyRetries?: number;
  choleskyJitter?: number;
  /** Levenberg–Marquardt details when `adaptiveDamping` is on. */
  adaptiveDampingRule?: Partial<AdaptiveDampingSettings>;
}

/** The Optimizer contract's step arguments; parameters of K-FAC layers get the K-FAC update, the rest the fallback optimizer. */
export type KfacStepArgs = TrainStepArgs;

export const KFAC_PHASES = ['forward', 'backward', 'factors', 'inverses', 'precondition', 'update'] as const;
export type KfacPhase = (typeof KFAC_PHASES)[number];
/** Milliseconds per phase; 'factors' covers the extra backward passes and the factor updates. */
export type PhaseTimes = Record<KfacPhase, number>;

export interface KfacStepResult extends TrainStepResult {
  phaseMs?: PhaseTimes;
  /**
   * ν of this step's KL clip (docs/kfac.md §4 step 4): 1 when the clip is off or did not bind, < 1
   * when it scaled the update down (then the step no longer grows with the learning rate).
   * Undefined only when the clip is on and `reportKlScale` is off.
   */
  klScale?: number;
}

export type KfacEvent =
  | {
      kind: 'cholesky-retry';
      step: number;
      layer: string;
      factor: FactorKind;
      /** Retries used (retries + 1 when it never succeeded). */
      attempts: number;
      /** Absolute diagonal jitter of the last attempt. */
      jitter: number;
      succeeded: boolean;
      message: string;
    }
  | { kind: 'damping'; step: number; previous: number; damping: number; rho: number | null; message: string };

export type FactorKind = 'A' | 'G' | 'bias G';

export const FACTOR_NAMES: Record<FactorKind, string> = {
  A: 'input factor A',
  G: 'gradient factor G',
  'bias G': 'bias block G (separate bias)',
};

/** Non-finite factors, inverses or updates, or a Cholesky that jitter could not rescue: the run cannot go on. */
export class KfacNumericalError extends Error {
  constructor(
    /** The layer path ("blocks.0.attn.q"). */
    readonly layer: string,
    /** What went wrong, e.g. "input factor A", "inverse of gradient factor G", "update". */
    readonly quantity: string,
    readonly step: number,
    detail: string,
  ) {
    super(`K-FAC, step ${step}: ${quantity} of layer "${layer}" ${detail}`);
    this.name = 'KfacNumericalError';
  }
}

export type LayerInverse = { kind: 'cholesky'; A: Tensor; G: Tensor; biasG: Tensor | null } | { kind: 'eigen'; A: EigenPair; G: EigenPair };

export interface LayerState {
  info: KfacLayerInfo;
  /** The bias is the last column of V and A (§2); false for a separate bias or none. */
  folded: boolean;
  /** Running averages (§4 step 1). */
  A: Tensor;
  G: Tensor;
  inverse: LayerInverse | null;
}

/** One K-FAC layer's gradients for this step. */
export interface LayerGrads {
  state: LayerState;
  name: string;
  weightGrad: Tensor;
  biasGrad: Tensor | null;
}

/** A factor of one layer in a batched inversion: which layer, which factor. */
export interface FactorLabel {
  layer: string;
  factor: FactorKind;
}

/** Σ_steps |Σ Δ ⊙ V| per layer since step `since`: non-finite once any update was (read on inversion steps). */
export interface UpdateHealth {
  names: string[];
  sums: Tensor;
  since: number;
}

/** A layer's running-average factors as the optimizer holds them (owned by it; do not dispose). */
export interface RunningFactors {
  A: Tensor;
  G: Tensor;
  /** The bias is the last column of V and A (§2). */
  folded: boolean;
}

/**
 * One layer's step in matrix form: the weight part (with a folded bias as its last column) and a
 * separate bias part. Used for the preconditioned directions Δ and the parameter changes δ.
 */
export interface LayerStep {
  matrix: Tensor;
  bias: Tensor | null;
}

/** The step's gradients split between the K-FAC layers and the fallback optimizer. */
export interface GradientAssignment {
  layerGrads: LayerGrads[];
  otherParams: NamedParameter[];
  otherGrads: Tensor[];
}
