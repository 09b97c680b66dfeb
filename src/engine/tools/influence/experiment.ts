// One influence experiment on an MNIST classifier (docs/curvature-tools.md §3), end to end and as
// JSON-able data: train the model on the first N training images (or restore a checkpoint), score
// them on the first Q test images under each method, list the top influences, and optionally run
// the LDS evaluation. The `influence` command and the benchmark call it; the page's job uses the
// same pieces with its own choice of queries.
import type { Backend } from '../../backend/backend.ts';
import type { Checkpoint } from '../../checkpoint/checkpoint.ts';
import { loadTask } from '../../lab/tasks.ts';
import {
  classifierInfluence,
  classifierLds,
  classifierModel,
  DEFAULT_RECIPE,
  loadInfluenceImages,
  pickImages,
  type InfluenceTaskId,
  type TrainingRecipe,
} from './classifier.ts';
import { topInfluences, type InfluenceMethod, type RankedExample } from './scores.ts';

export interface InfluenceExperimentOptions {
  backend: Backend;
  task: InfluenceTaskId;
  methods: readonly InfluenceMethod[];
  examples: number;
  queries: number;
  steps: number;
  /** Batch size of the training recipe (default DEFAULT_RECIPE's 64). */
  batchSize?: number;
  relativeDamping: number;
  top: number;
  seed: number;
  lds?: { subsets: number; seeds: number } | null;
  checkpoint?: Checkpoint | null;
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; done: number; total: number }) => void;
}

export interface InfluenceExperimentMethod {
  method: InfluenceMethod;
  /** Scoring all N training images for all Q queries (preconditioning + streaming), seconds. */
  scoreSeconds: number;
  secondsPerQuery: number;
  /** Per query: top helpful / harmful training images (index into the task's training set). */
  top: { helpful: RankedExample[]; harmful: RankedExample[] }[];
  lds: { mean: number; spread: number; perQuery: number[] } | null;
}

export interface InfluenceExperiment {
  task: InfluenceTaskId;
  device: string;
  examples: number;
  queries: { index: number; label: number; loss: number }[];
  recipe: TrainingRecipe & { seed: number; optimizer: 'adam'; source: 'trained' | 'checkpoint' };
  trainSeconds: number;
  damping: { relative: number; absolute: number; meanEigenvalue: number };
  kfacFitSeconds: number;
  ekfacFitSeconds: number;
  methods: InfluenceExperimentMethod[];
  lds: { subsets: number; seeds: number; ceiling: { mean: number; spread: number } | null; retrainSeconds: number } | null;
  /** Scores [Q][N] per method, only when asked for (large). */
  scores?: Record<string, number[][]>;
}

export async function runInfluenceExperiment(o: InfluenceExperimentOptions & { keepScores?: boolean }): Promise<InfluenceExperiment> {
  const images = await loadInfluenceImages(o.task);
  if (o.examples > images.train.count)
    throw new Error(`influence: --examples ${o.examples} exceeds the ${images.train.count} training images of ${o.task}`);
  if (o.queries > images.test.count)
    throw new Error(`influence: --queries ${o.queries} exceeds the ${images.test.count} test images of ${o.task}`);
  const placed = (await loadTask(o.task)).place(o.backend);
  const recipe: TrainingRecipe = { ...DEFAULT_RECIPE, steps: o.steps, batchSize: o.batchSize ?? DEFAULT_RECIPE.batchSize };
  const trainRows = Int32Array.from({ length: o.examples }, (_, i) => i);
  const queryRows = Array.from({ length: o.queries }, (_, i) => i);
  const queries = pickImages(images.test, queryRows);
  const { model, trainSeconds } = await classifierModel({
    placed,
    images,
    rows: trainRows,
    recipe,
    seed: o.seed,
    checkpoint: o.checkpoint ?? null,
    task: o.task,
    signal: o.signal,
    onStep: (s) => o.onProgress?.({ stage: 'training the model', done: s + 1, total: recipe.steps }),
  });
  try {
    const inf = await classifierInfluence({
      model,
      task: o.task,
      images,
      trainRows,
      queries,
      methods: o.methods,
      relativeDamping: o.relativeDamping,
      signal: o.signal,
      onProgress: o.onProgress,
    });
    const lds = o.lds
      ? await classifierLds({
          placed,
          images,
          trainRows,
          queries,
          scores: inf.results.map((r) => ({ method: r.method, scores: r.scores })),
          subsets: o.lds.subsets,
          seeds: o.lds.seeds,
          recipe,
          seed: o.seed,
          signal: o.signal,
          onProgress: o.onProgress,
        })
      : null;
    const first = inf.results[0];
    return {
      task: o.task,
      device: o.backend.info.summary,
      examples: o.examples,
      queries: queryRows.map((index, q) => ({ index, label: queries.labels[q], loss: first.queryLoss[q] })),
      recipe: { ...recipe, seed: o.seed, optimizer: 'adam', source: o.checkpoint ? 'checkpoint' : 'trained' },
      trainSeconds,
      damping: { relative: o.relativeDamping, absolute: inf.damping, meanEigenvalue: inf.meanEigenvalue },
      kfacFitSeconds: inf.kfacFitSeconds,
      ekfacFitSeconds: inf.ekfacFitSeconds,
      methods: inf.results.map((r) => {
        const l = lds?.methods.find((m) => m.method === r.method)?.lds;
        return {
          method: r.method,
          scoreSeconds: r.scoreSeconds,
          secondsPerQuery: r.scoreSeconds / r.queries,
          top: topInfluences(r.scores, r.queries, r.examples, o.top),
          lds: l ? { mean: l.mean, spread: l.spread, perQuery: Array.from(l.perQuery) } : null,
        };
      }),
      lds: lds
        ? {
            subsets: lds.subsets,
            seeds: lds.seeds,
            ceiling: lds.ceiling ? { mean: lds.ceiling.mean, spread: lds.ceiling.spread } : null,
            retrainSeconds: lds.retrainSeconds,
          }
        : null,
      ...(o.keepScores
        ? {
            scores: Object.fromEntries(
              inf.results.map((r) => [
                r.method,
                Array.from({ length: r.queries }, (_, q) => Array.from(r.scores.subarray(q * r.examples, (q + 1) * r.examples))),
              ]),
            ),
          }
        : {}),
    };
  } finally {
    model.dispose();
    placed.dispose();
  }
}
