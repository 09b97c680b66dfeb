// The influence tool's public API (docs/curvature-tools.md §3): scores of training examples on
// queries under identity, K-FAC, EK-FAC or the exact GGN; the LDS evaluation and the removal test;
// the MNIST classifier pipeline the CLI, the worker job and the benchmark share.
export {
  influenceScores,
  INFLUENCE_METHODS,
  meanCurvatureEigenvalue,
  topInfluences,
  type InfluenceMethod,
  type InfluenceOptions,
  type InfluenceProgress,
  type InfluenceResult,
  type RankedExample,
} from './scores.ts';
export { dataLosses, exampleLosses } from './example-loss.ts';
export {
  halfSubsets,
  ldsCeiling,
  ldsPredictions,
  ldsScore,
  measureSubsets,
  pearson,
  ranks,
  removalTest,
  spearman,
  type CorrelationSummary,
  type LdsMeasurements,
  type RemovalResult,
} from './lds.ts';
