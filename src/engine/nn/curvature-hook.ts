// The curvature hook (docs/kfac.md §1; docs/architecture.md): during a forward/backward pass marked for
// curvature, every Linear-like layer hands out the input `a` it saw and the gradient `b` at its
// output, laid out as rows of weight-sharing positions, and says how rows group into examples.
// The K-FAC code reads only this interface; it never looks inside a layer.
import type { Tensor } from '../tensor.ts';
import type { Variable } from '../autograd/variable.ts';
import type { NamedParameter } from './module.ts';

/**
 * How the rows of a capture map to examples n and shared positions r.
 * - dense: rows are ordered n-major, `examples` × `positions` (R = positions; 1 for a plain MLP).
 * - segments: a ragged grouping (graphs of different sizes in one batch); `index[row]` is the
 *   example of each row, an int32 tensor of length rows.
 */
export type SharingLayout = { kind: 'dense'; examples: number; positions: number } | { kind: 'segments'; examples: number; index: Tensor };

/** What a Linear-like layer is, for the curvature code. */
export interface KfacLayerInfo {
  /** Stable layer path, e.g. "blocks.0.attn.q". */
  name: string;
  /** The layer's weight [dOut, dIn] (Conv2d: [Cout, Cin·kH·kW]). */
  weight: NamedParameter;
  bias: NamedParameter | null;
  /** Names of the weight-sharing dims, for display ("tokens", "patches", "nodes", "positions"); empty for none. */
  sharedDims: readonly string[];
}

/** One forward pass of one layer: its input rows, and the output whose gradient is wanted. */
export interface KfacForwardCapture {
  layer: KfacLayerInfo;
  /** The input `a` as [rows, dIn] (bias not appended). */
  input: Tensor;
  layout: SharingLayout;
  /** The layer output s = W a + b as a variable; the recorder hooks its gradient. */
  output: Variable;
}

/** Receives captures; implemented by the K-FAC code. */
export interface CurvatureRecorder {
  capture(c: KfacForwardCapture): void;
}

let active: CurvatureRecorder | null = null;

/** Run a forward pass with `recorder` receiving every Linear-like layer's capture. */
export function withCurvatureCapture<T>(recorder: CurvatureRecorder, fn: () => T): T {
  const before = active;
  active = recorder;
  try {
    return fn();
  } finally {
    active = before;
  }
}

/** Called by Linear-like layers; a no-op unless a capture is active (cheap when off). */
export function reportLinearForward(c: KfacForwardCapture): void {
  active?.capture(c);
}

export function isCapturingCurvature(): boolean {
  return active !== null;
}
