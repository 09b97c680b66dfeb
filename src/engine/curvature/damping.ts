// Damping of the Kronecker factors (docs/kfac.md §4): π-damping splits λ between A and G for the
// Cholesky inverses, computed on the device from the factors' traces so it needs no read-back;
// the Levenberg–Marquardt rule adapts λ from the ratio of actual to predicted loss reduction.
import type { Backend } from '../backend/backend.ts';
import { scope, type Tensor } from '../tensor.ts';

/**
 * π_ℓ = sqrt((tr A_ℓ / dA_ℓ) / (tr G_ℓ / dG_ℓ)) for each layer ([L] from traces [L]); 1 where either
 * mean diagonal is not positive (an all-zero G from a layer that received no gradient), so the
 * split stays finite.
 */
export function piDamping(be: Backend, traceA: Tensor, dimsA: readonly number[], traceG: Tensor, dimsG: readonly number[]): Tensor {
  if (traceA.size !== dimsA.length || traceG.size !== dimsG.length || dimsA.length !== dimsG.length) {
    throw new Error(`piDamping: ${traceA.size} / ${traceG.size} traces for ${dimsA.length} / ${dimsG.length} dims`);
  }
  return scope(() => {
    const dtype = traceA.dtype;
    const meanA = be.binary('div', be.reshape(traceA, [dimsA.length]), be.tensor(dimsA, [dimsA.length], dtype));
    const meanG = be.binary('div', be.reshape(traceG, [dimsG.length]), be.tensor(dimsG, [dimsG.length], dtype));
    const valid = be.binary('mul', be.binaryScalar('greater', meanA, 0), be.binaryScalar('greater', meanG, 0));
    const pi = be.unary('sqrt', be.binary('div', meanA, meanG));
    return be.where(valid, pi, be.fill([dimsA.length], 1, dtype));
  });
}

/** The diagonal shifts of π-damping: (A + π√λ I) and (G + (√λ/π) I), as [L] tensors. */
export function piShifts(be: Backend, pi: Tensor, damping: number): { shiftA: Tensor; shiftG: Tensor } {
  const root = Math.sqrt(damping);
  return scope(() => ({
    shiftA: be.binaryScalar('mul', pi, root),
    shiftG: be.binaryScalar('div', pi, root, true),
  }));
}

// ---- Levenberg–Marquardt ------------------------------------------------------------------------

export interface AdaptiveDampingSettings {
  /** Adapt every this many steps (Martens & Grosse's T₁; default 5). */
  interval: number;
  /** λ is multiplied by ω = decay^interval when steps go well and divided by it when they do not. */
  decay: number;
  /** λ stays within these bounds (the schema's range of 'damping'). */
  min: number;
  max: number;
}

export const DEFAULT_ADAPTIVE_DAMPING: AdaptiveDampingSettings = { interval: 5, decay: 0.95, min: 1e-8, max: 10 };

/**
 * ρ = (L(θ + δ) − L(θ)) / (M(δ) − M(0)): the actual change of the loss over the change the
 * quadratic model predicted. null when the model predicted no decrease (no information about λ).
 */
export function reductionRatio(lossBefore: number, lossAfter: number, predictedChange: number): number | null {
  if (!(predictedChange < 0)) return null;
  const actual = lossAfter - lossBefore;
  // A non-finite loss after the step is the worst possible outcome: ρ = −∞ raises λ.
  return Number.isFinite(actual) ? actual / predictedChange : -Infinity;
}

/** The Levenberg–Marquardt update of λ (docs/kfac.md §4): ρ < 1/4 raises it by 1/ω, ρ > 3/4 lowers it by ω. */
export function adaptDamping(damping: number, rho: number | null, settings: AdaptiveDampingSettings = DEFAULT_ADAPTIVE_DAMPING): number {
  if (rho === null) return damping;
  const omega = Math.pow(settings.decay, settings.interval);
  let next = damping;
  if (Number.isNaN(rho) || rho < 0.25) next = damping / omega;
  else if (rho > 0.75) next = damping * omega;
  return Math.min(settings.max, Math.max(settings.min, next));
}
