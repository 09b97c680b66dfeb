// Classification metrics. The counting happens on the device; only the final two numbers come back,
// so a runner can also collect the count tensors of many batches and read them in one go.
import type { Variable } from '../autograd/variable.ts';
import { ShapeError } from '../shape-rules/shape.ts';
import { readAndDispose, shapeToString, Tensor } from '../tensor.ts';

export interface AccuracyResult {
  /** correct / counted, or NaN when every target was ignored. */
  accuracy: number;
  correct: number;
  /** Non-ignored targets. */
  counted: number;
}

function valueOf(x: Tensor | Variable): Tensor {
  return x instanceof Tensor ? x : x.value;
}

/**
 * Top-1 counts as a float32 [2] tensor on the device: [correct, counted]. Logits [N, C] with int32
 * targets [N] (per example) or logits [N, T, C] with targets [N, T] (per token); negative targets
 * (IGNORE_INDEX) are not counted. Ties go to the first maximal class (argmax).
 */
export function top1Counts(logits: Tensor | Variable, targets: Tensor): Tensor {
  const x = valueOf(logits);
  const backend = x.backend;
  if (x.rank !== 2 && x.rank !== 3) throw new ShapeError(`top1Counts: logits must be [N, C] or [N, T, C], got ${shapeToString(x.shape)}`);
  if (targets.dtype !== 'int32') throw new ShapeError(`top1Counts: targets must be int32 class indices, got ${targets.dtype}`);
  const lead = x.shape.slice(0, -1);
  if (targets.rank !== lead.length || targets.shape.some((d, i) => d !== lead[i])) {
    throw new ShapeError(`top1Counts: targets ${shapeToString(targets.shape)} must have the logits' leading shape ${shapeToString(lead)}`);
  }
  const predicted = backend.argmax(x, -1);
  const predictedF = backend.cast(predicted, 'float32');
  const targetsF = backend.cast(targets, 'float32');
  // An ignored target (< 0) never equals a predicted class, so it is never counted as correct.
  const hits = backend.binary('equal', predictedF, targetsF);
  const counted = backend.binaryScalar('greater', targetsF, -0.5);
  const hitSum = backend.reduce('sum', hits, null);
  const countSum = backend.reduce('sum', counted, null);
  const hitSum1 = backend.reshape(hitSum, [1]);
  const countSum1 = backend.reshape(countSum, [1]);
  const out = backend.concat([hitSum1, countSum1], 0);
  for (const t of [predicted, predictedF, targetsF, hits, counted, hitSum, countSum, hitSum1, countSum1]) t.dispose();
  return out;
}

/** Turn [correct, counted] values (from top1Counts, possibly summed over batches) into an AccuracyResult. */
export function accuracyFromCounts(counts: ArrayLike<number>): AccuracyResult {
  const correct = counts[0];
  const counted = counts[1];
  return { accuracy: counted > 0 ? correct / counted : NaN, correct, counted };
}

/** Top-1 accuracy, read back to the host (per example or per token, see top1Counts). */
export async function top1Accuracy(logits: Tensor | Variable, targets: Tensor): Promise<AccuracyResult> {
  return accuracyFromCounts(await readAndDispose(top1Counts(logits, targets)));
}
