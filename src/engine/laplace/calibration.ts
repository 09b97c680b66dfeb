// Test metrics of a classifier's predictive probabilities: accuracy, negative log-likelihood, the
// expected calibration error (ECE) and the reliability diagram's bins (equal-width confidence bins;
// confidence = the top class's probability).

export interface ReliabilityBin {
  /** The bin's confidence range [lo, hi). */
  lo: number;
  hi: number;
  count: number;
  /** Mean confidence and accuracy of the examples in the bin (0 when empty). */
  confidence: number;
  accuracy: number;
}

export interface ClassificationMetrics {
  examples: number;
  accuracy: number;
  /** Mean −log p(y|x). */
  nll: number;
  /** Σ_b (n_b / N) |accuracy_b − confidence_b|. */
  ece: number;
  bins: ReliabilityBin[];
}

/** Metrics of probabilities [N, C] (row-major) against labels (negative labels are skipped). */
export function classificationMetrics(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  C: number,
  binCount = 10,
): ClassificationMetrics {
  const bins = Array.from({ length: binCount }, (_, b) => ({
    lo: b / binCount,
    hi: (b + 1) / binCount,
    count: 0,
    confidence: 0,
    accuracy: 0,
  }));
  let examples = 0;
  let correct = 0;
  let nll = 0;
  for (let n = 0; n < labels.length; n++) {
    const y = labels[n];
    if (y < 0) continue;
    let top = 0;
    for (let c = 1; c < C; c++) if (probabilities[n * C + c] > probabilities[n * C + top]) top = c;
    const confidence = probabilities[n * C + top];
    const hit = top === y ? 1 : 0;
    examples++;
    correct += hit;
    nll -= Math.log(Math.max(probabilities[n * C + y], 1e-12));
    const bin = bins[Math.min(binCount - 1, Math.floor(confidence * binCount))];
    bin.count++;
    bin.confidence += confidence;
    bin.accuracy += hit;
  }
  if (examples === 0) throw new Error('classificationMetrics: no labelled examples');
  let ece = 0;
  for (const b of bins) {
    if (b.count === 0) continue;
    b.confidence /= b.count;
    b.accuracy /= b.count;
    ece += (b.count / examples) * Math.abs(b.accuracy - b.confidence);
  }
  return { examples, accuracy: correct / examples, nll: nll / examples, ece, bins };
}
