// Losses with the reduction conventions of docs/kfac.md §3: L = c Σ_m ℓ_m(f_m) over M loss terms,
// c = 1 ('sum') or 1/M ('mean'; MSE's 'mean' also averages over the C outputs, c = 1/(M C), like
// PyTorch). Each loss is one fused autograd op (record) with a closed-form vjp, so its backward is a
// handful of elementwise dispatches and no host round-trip; ignored targets and the mean's M are
// handled on the device.
import type { Backend } from '../backend/backend.ts';
import { record, type Variable } from '../autograd/variable.ts';
import { ShapeError } from '../shape-rules/shape.ts';
import { keep, shapeToString, type Shape, type Tensor } from '../tensor.ts';

export type LossKind = 'ce' | 'mse';
export type Reduction = 'sum' | 'mean';

/** Target value that marks a cross-entropy term as ignored (any negative target is ignored). */
export { IGNORE_INDEX } from '../data/common.ts';

/** What the curvature code needs to know about a loss (docs/kfac.md §3). */
export interface LossSpec {
  readonly kind: LossKind;
  readonly reduction: Reduction;
  /** The factor c in L = c Σ_m ℓ_m for M (non-ignored) loss terms of C outputs each. */
  scale(M: number, C: number): number;
}

/** A loss and the targets of one batch: what a training step and the curvature code evaluate. */
export interface LossTargets {
  spec: LossSpec;
  /** CE: int32 class indices with the outputs' leading shape (negative = ignored); MSE: the outputs' shape. */
  targets: Tensor;
}

export function lossSpec(kind: LossKind, reduction: Reduction): LossSpec {
  if (kind !== 'ce' && kind !== 'mse') throw new Error(`lossSpec: unknown loss kind "${String(kind)}" (expected 'ce' or 'mse')`);
  if (reduction !== 'sum' && reduction !== 'mean') {
    throw new Error(`lossSpec: unknown reduction "${String(reduction)}" (expected 'sum' or 'mean')`);
  }
  return {
    kind,
    reduction,
    scale(M: number, C: number): number {
      if (reduction === 'sum') return 1;
      const terms = kind === 'mse' ? M * C : M;
      // An empty mean is defined as 0 (as the device computation does), not NaN.
      return terms > 0 ? 1 / terms : 0;
    },
  };
}

// ---- cross-entropy ------------------------------------------------------------------------------

interface CrossEntropyLayout {
  /** Loss terms including ignored ones: N (per example) or N·T (per token). */
  rows: number;
  classes: number;
}

function crossEntropyLayout(logitsShape: Shape, targets: Tensor): CrossEntropyLayout {
  const what = 'softmaxCrossEntropy';
  if (logitsShape.length !== 2 && logitsShape.length !== 3) {
    throw new ShapeError(`${what}: logits must be [N, C] or [N, T, C], got ${shapeToString(logitsShape)}`);
  }
  if (targets.dtype !== 'int32') {
    throw new ShapeError(`${what}: targets must be int32 class indices, got ${targets.dtype} ${shapeToString(targets.shape)}`);
  }
  const lead = logitsShape.slice(0, -1);
  if (targets.rank !== lead.length || targets.shape.some((d, i) => d !== lead[i])) {
    throw new ShapeError(
      `${what}: targets ${shapeToString(targets.shape)} must have the logits' leading shape ${shapeToString(lead)} (logits ${shapeToString(logitsShape)})`,
    );
  }
  const classes = logitsShape[logitsShape.length - 1];
  if (classes === 0) throw new ShapeError(`${what}: logits ${shapeToString(logitsShape)} have no classes`);
  return { rows: targets.size, classes };
}

type FloatType = 'float32' | 'float64';

// [0, 1, ..., C−1] per backend and dtype, uploaded once: one-hot rows compare targets against it.
const iotaCache = new WeakMap<Backend, Map<string, Tensor>>();

function iota(backend: Backend, n: number, dtype: FloatType): Tensor {
  let byKey = iotaCache.get(backend);
  if (!byKey) iotaCache.set(backend, (byKey = new Map()));
  const key = `${dtype}:${n}`;
  const cached = byKey.get(key);
  if (cached && !cached.isDisposed) return cached;
  const t = keep(
    backend.tensor(
      Array.from({ length: n }, (_, i) => i),
      [n],
      dtype,
    ),
  );
  byKey.set(key, t);
  return t;
}

interface TargetEncoding {
  /** [rows, C]: 1 at the target class, a zero row for ignored targets. */
  oneHot: Tensor;
  /** [rows, 1]: 1 for counted terms, 0 for ignored ones. */
  mask: Tensor;
}

/**
 * One-hot rows and the ignore mask on the device (no host round-trip). Targets < 0 are ignored.
 * Built in the logits' float type, so that a float64 loss (CPU oracles) keeps its c exact.
 */
function encodeTargets(backend: Backend, targets: Tensor, rows: number, classes: number, dtype: FloatType): TargetEncoding {
  const asFloat = backend.cast(targets, dtype);
  const column = backend.reshape(asFloat, [rows, 1]);
  const oneHot = backend.binary('equal', column, iota(backend, classes, dtype));
  const mask = backend.binaryScalar('greater', column, -0.5);
  asFloat.dispose();
  column.dispose();
  return { oneHot, mask };
}

/** Number of counted (non-ignored) terms of a cross-entropy loss, as a scalar on the device. */
export function crossEntropyTermCount(targets: Tensor, dtype: FloatType = 'float32'): Tensor {
  const backend = targets.backend;
  if (targets.dtype !== 'int32') throw new ShapeError(`crossEntropyTermCount: targets must be int32, got ${targets.dtype}`);
  const asFloat = backend.cast(targets, dtype);
  const mask = backend.binaryScalar('greater', asFloat, -0.5);
  const count = backend.reduce('sum', mask, null);
  asFloat.dispose();
  mask.dispose();
  return count;
}

/**
 * Softmax cross-entropy of logits [N, C] (one term per example) or [N, T, C] (one term per token)
 * against int32 class indices [N] or [N, T]. Targets equal to IGNORE_INDEX (any negative value)
 * contribute nothing, and 'mean' divides by the number of counted terms (0 when there are none).
 * Targets must otherwise lie in [0, C): a larger index is not detected (that would need a read-back);
 * its term adds 0 to the loss but counts in M and gets the gradient c·softmax(f). Stable for large
 * logits (log-softmax subtracts the row maximum).
 *
 * vjp: ∂L/∂f_m = c (softmax(f_m) − onehot(y_m)) for counted terms, 0 for ignored ones.
 */
export function softmaxCrossEntropy(logits: Variable, targets: Tensor, reduction: Reduction = 'mean'): Variable {
  const backend = logits.backend;
  lossSpec('ce', reduction); // rejects an unknown reduction before anything is allocated
  const { rows, classes } = crossEntropyLayout(logits.shape, targets);
  const flatLogits = backend.reshape(logits.value, [rows, classes]);
  const logProbs = backend.logSoftmax(flatLogits);
  flatLogits.dispose();
  const dtype: FloatType = logits.value.dtype === 'float64' ? 'float64' : 'float32';
  const { oneHot, mask } = encodeTargets(backend, targets, rows, classes, dtype);
  const picked = backend.binary('mul', oneHot, logProbs);
  const pickedSum = backend.reduce('sum', picked, null);
  picked.dispose();
  // −c as a device scalar (the loss is −c Σ log p): −1, or −1/max(count, 1) for the mean.
  let negScale: Tensor;
  if (reduction === 'mean') {
    const count = backend.reduce('sum', mask, null);
    const atLeastOne = backend.binaryScalar('max', count, 1);
    negScale = backend.binaryScalar('div', atLeastOne, -1, true);
    count.dispose();
    atLeastOne.dispose();
  } else {
    negScale = backend.fill([], -1, dtype);
  }
  const value = backend.binary('mul', pickedSum, negScale);
  pickedSum.dispose();

  const out = record('softmaxCrossEntropy', value, [logits], () => (g) => {
    // c g (softmax − onehot) = (onehot − softmax) · (−c g), masked per row.
    const probs = backend.unary('exp', logProbs);
    const negResidual = backend.binary('sub', oneHot, probs);
    probs.dispose();
    const weight = backend.binary('mul', g, negScale);
    const rowWeight = backend.binary('mul', mask, weight);
    weight.dispose();
    const grad = backend.binary('mul', negResidual, rowWeight);
    negResidual.dispose();
    rowWeight.dispose();
    const shaped = backend.reshape(grad, logits.shape);
    grad.dispose();
    return [shaped];
  });
  if (!out.node) for (const t of [logProbs, oneHot, mask, negScale]) t.dispose(); // nothing will run the vjp
  return out;
}

// ---- mean squared error ---------------------------------------------------------------------------

/** M and C of an MSE over predictions [..., C] (rank 1: each element is its own term, C = 1). */
export function mseTerms(shape: Shape): { M: number; C: number } {
  if (shape.length === 0) return { M: 1, C: 1 };
  const C = shape.length === 1 ? 1 : shape[shape.length - 1];
  let size = 1;
  for (const d of shape) size *= d;
  return { M: C === 0 ? 0 : size / C, C };
}

/**
 * Squared error ℓ_m = Σ_c (f_mc − y_mc)² (no ½, docs/kfac.md §3: its Hessian is 2I), summed over
 * the M terms ('sum') or averaged over all M·C outputs ('mean', PyTorch's MSELoss).
 *
 * vjp: ∂L/∂f = 2c (f − y).
 */
export function mse(predictions: Variable, targets: Tensor, reduction: Reduction = 'mean'): Variable {
  const backend = predictions.backend;
  if (targets.dtype === 'int32') throw new ShapeError(`mse: targets must be float32 or float64, got int32 ${shapeToString(targets.shape)}`);
  if (targets.rank !== predictions.rank || targets.shape.some((d, i) => d !== predictions.shape[i])) {
    throw new ShapeError(
      `mse: targets ${shapeToString(targets.shape)} must have the predictions' shape ${shapeToString(predictions.shape)}`,
    );
  }
  const { M, C } = mseTerms(predictions.shape);
  const c = lossSpec('mse', reduction).scale(M, C);
  const residual = backend.binary('sub', predictions.value, targets);
  const squares = backend.unary('square', residual);
  const total = backend.reduce('sum', squares, null);
  squares.dispose();
  let value = total;
  if (c !== 1) {
    value = backend.binaryScalar('mul', total, c);
    total.dispose();
  }
  const out = record('mse', value, [predictions], () => (g) => {
    const weight = backend.binaryScalar('mul', g, 2 * c);
    const grad = backend.binary('mul', residual, weight);
    weight.dispose();
    return [grad];
  });
  if (!out.node) residual.dispose();
  return out;
}

// ---- by spec --------------------------------------------------------------------------------------

/** The loss a spec describes: cross-entropy needs int32 targets, MSE float targets of the outputs' shape. */
export function computeLoss(spec: LossSpec, outputs: Variable, targets: Tensor): Variable {
  return spec.kind === 'ce' ? softmaxCrossEntropy(outputs, targets, spec.reduction) : mse(outputs, targets, spec.reduction);
}

/**
 * c of docs/kfac.md §3 as a device scalar (float32 unless asked for float64, as the CPU oracles
 * do), for the curvature code: for cross-entropy the number of counted terms is only known on the
 * device (ignored targets).
 */
export function lossScaleTensor(spec: LossSpec, outputsShape: Shape, targets: Tensor, dtype: FloatType = 'float32'): Tensor {
  const backend = targets.backend;
  if (spec.reduction === 'sum') return backend.fill([], 1, dtype);
  if (spec.kind === 'mse') {
    const { M, C } = mseTerms(outputsShape);
    return backend.fill([], spec.scale(M, C), dtype);
  }
  crossEntropyLayout(outputsShape, targets);
  const count = crossEntropyTermCount(targets, dtype);
  const atLeastOne = backend.binaryScalar('max', count, 1);
  const c = backend.binaryScalar('div', atLeastOne, 1, true);
  count.dispose();
  atLeastOne.dispose();
  return c;
}
