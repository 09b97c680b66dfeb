// The 'influence' job: the Influence page's computations (docs/curvature-tools.md §3) on the worker's
// backend. Two actions:
// - 'scores': the model (trained here by the influence recipe on the first N training images, or a
//   checkpoint) scores those N images on one query (a test image, or a drawn one) under each method;
//   the result holds the query's prediction, every method's top helpful and harmful images with
//   their pixels, all N scores (for the export), and, when trained here, the model as a checkpoint.
// - 'lds': the LDS evaluation of each method on the first Q test images: M half subsets × S seeds
//   retrained by the recipe, with the seed-to-seed ceiling.
import { noGrad, constant } from '../../engine/autograd/variable.ts';
import { loadTask } from '../../engine/lab/tasks.ts';
import {
  classifierInfluence,
  classifierModel,
  classifierLds,
  DEFAULT_RECIPE,
  INFLUENCE_TASKS,
  loadInfluenceImages,
  pickImages,
  standardise,
  toGreyLevels,
  type ClassifierModel,
  type ImageSet,
  type InfluenceImages,
  type InfluenceTaskId,
} from '../../engine/tools/influence/classifier.ts';
import { topInfluences, type InfluenceMethod } from '../../engine/tools/influence/scores.ts';
import { keep, readAndDispose, scope } from '../../engine/tensor.ts';
import {
  configRecord,
  describeValue,
  JobConfigError,
  readChoice,
  readInteger,
  rethrowCancelled,
  unknownFields,
  type JobDefinition,
} from './job.ts';
import { encodeModel, readModelSource, sourceCheckpoint, type BuiltSource, type CheckpointSource } from './model-source.ts';

export type InfluenceModelSource = { kind: 'train'; steps: number; seed: number } | CheckpointSource;
export type InfluenceQuery = { kind: 'test'; index: number } | { kind: 'drawn'; pixels: number[]; label: number | null };

export interface InfluenceJobConfig {
  /** 'gallery': only the test images [galleryStart, galleryStart + galleryCount) to pick a query from. */
  action: 'scores' | 'lds' | 'gallery';
  task: InfluenceTaskId;
  model: InfluenceModelSource;
  /** Training images scored: the first N of the task's. */
  examples: number;
  methods: InfluenceMethod[];
  /** λ relative to K-FAC's mean eigenvalue. */
  damping: number;
  /** 'scores': the query and how many top images per side. */
  query: InfluenceQuery;
  top: number;
  /** 'lds': test queries, subsets, seeds, and the retraining steps (the recipe's). */
  ldsQueries: number;
  subsets: number;
  seeds: number;
  ldsSteps: number;
  galleryStart: number;
  galleryCount: number;
}

export interface ShownImage {
  /** Index into the task's training (or test) images; -1 for a drawn image. */
  index: number;
  label: number;
  /** 14×14 grey levels 0–255. */
  pixels: Uint8Array;
}

export interface RankedImage extends ShownImage {
  score: number;
}

export interface InfluenceScoresResult {
  action: 'scores';
  task: InfluenceTaskId;
  examples: number;
  query: ShownImage & { kind: 'test' | 'drawn'; predicted: number; probabilities: number[]; loss: number };
  damping: { relative: number; absolute: number };
  kfacFitSeconds: number;
  ekfacFitSeconds: number;
  methods: { method: InfluenceMethod; seconds: number; helpful: RankedImage[]; harmful: RankedImage[]; scores: Float32Array }[];
  model: { source: 'trained' | 'checkpoint'; steps: number; seed: number; trainSeconds: number; checkpoint: Uint8Array | null };
}

export interface InfluenceLdsResult {
  action: 'lds';
  task: InfluenceTaskId;
  examples: number;
  queries: number;
  subsets: number;
  seeds: number;
  steps: number;
  methods: { method: InfluenceMethod; mean: number; spread: number; perQuery: number[] }[];
  ceiling: { mean: number; spread: number; perQuery: number[] } | null;
  retrainSeconds: number;
}

export interface InfluenceGalleryResult {
  action: 'gallery';
  task: InfluenceTaskId;
  /** Test images available in all. */
  testCount: number;
  images: ShownImage[];
}

export type InfluenceJobResult = InfluenceScoresResult | InfluenceLdsResult | InfluenceGalleryResult;

const FIELDS = [
  'action',
  'task',
  'model',
  'examples',
  'methods',
  'damping',
  'query',
  'top',
  'ldsQueries',
  'subsets',
  'seeds',
  'ldsSteps',
  'galleryStart',
  'galleryCount',
] as const;
const METHODS: readonly InfluenceMethod[] = ['identity', 'kfac', 'ekfac'];
/** Bounds that keep a job within what a browser tab can do in minutes. */
export const MAX_INFLUENCE_EXAMPLES = 4096;
export const MAX_INFLUENCE_SUBSETS = 500;

/** Trained here by the influence recipe (its steps by default) from `seed` (default 1), or a checkpoint. */
const TRAIN: BuiltSource<{ kind: 'train'; steps: number; seed: number }> = {
  kind: 'train',
  fields: 'steps, seed',
  read(m, where, problems) {
    const steps = readInteger(m.steps, `${where}.steps`, 1, 20_000, problems, DEFAULT_RECIPE.steps);
    const seed = readInteger(m.seed, `${where}.seed`, 0, 2 ** 31 - 1, problems, 1);
    return steps === undefined || seed === undefined ? undefined : { kind: 'train', steps, seed };
  },
};

function readQuery(value: unknown, problems: string[]): InfluenceQuery | undefined {
  if (value === undefined) return { kind: 'test', index: 0 };
  const q = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (q.kind === 'test') {
    const index = readInteger(q.index, 'influence.query.index', 0, 4095, problems);
    return index === undefined ? undefined : { kind: 'test', index };
  }
  if (q.kind === 'drawn') {
    const pixels = q.pixels;
    if (!Array.isArray(pixels) || pixels.length !== 196 || !pixels.every((p) => typeof p === 'number' && p >= 0 && p <= 1)) {
      problems.push(`influence.query.pixels: expected 196 numbers in [0, 1] (a 14×14 drawing), got ${describeValue(pixels)}`);
      return undefined;
    }
    const label = q.label === null || q.label === undefined ? null : readInteger(q.label, 'influence.query.label', 0, 9, problems);
    return label === undefined ? undefined : { kind: 'drawn', pixels: pixels as number[], label };
  }
  problems.push(`influence.query.kind: expected 'test' or 'drawn', got ${describeValue(q.kind)}`);
  return undefined;
}

function readMethods(value: unknown, problems: string[]): InfluenceMethod[] | undefined {
  if (value === undefined) return [...METHODS];
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((m) => (METHODS as readonly unknown[]).includes(m)) ||
    new Set(value).size !== value.length
  ) {
    problems.push(
      `influence.methods: expected distinct methods of ${METHODS.join(', ')} (the exact GGN is too large for these models), got ${describeValue(value)}`,
    );
    return undefined;
  }
  return value as InfluenceMethod[];
}

export function parseInfluenceConfig(value: unknown): InfluenceJobConfig {
  const json = configRecord(value, 'influence');
  const problems: string[] = [];
  unknownFields(json, FIELDS, 'influence', problems);
  const action = readChoice(json.action, 'influence.action', ['scores', 'lds', 'gallery'] as const, problems, 'scores');
  const task = readChoice(json.task, 'influence.task', INFLUENCE_TASKS, problems);
  // The gallery needs no model.
  const model =
    json.action === 'gallery' && json.model === undefined
      ? ({ kind: 'train', steps: 1, seed: 1 } as const)
      : readModelSource(json.model, 'influence', TRAIN, problems);
  const examples = readInteger(json.examples, 'influence.examples', 8, MAX_INFLUENCE_EXAMPLES, problems, 1000);
  const methods = readMethods(json.methods, problems);
  let damping: number | undefined = typeof json.damping === 'number' ? json.damping : json.damping === undefined ? 0.1 : undefined;
  if (damping === undefined || !(damping > 0) || !Number.isFinite(damping)) {
    problems.push(`influence.damping: expected a number > 0 (λ relative to the mean K-FAC eigenvalue), got ${describeValue(json.damping)}`);
    damping = undefined;
  }
  const query = readQuery(json.query, problems);
  const top = readInteger(json.top, 'influence.top', 1, 64, problems, 8);
  const ldsQueries = readInteger(json.ldsQueries, 'influence.ldsQueries', 1, 512, problems, 10);
  const subsets = readInteger(json.subsets, 'influence.subsets', 3, MAX_INFLUENCE_SUBSETS, problems, 20);
  const seeds = readInteger(json.seeds, 'influence.seeds', 1, 10, problems, 2);
  const ldsSteps = readInteger(json.ldsSteps, 'influence.ldsSteps', 1, 20_000, problems, DEFAULT_RECIPE.steps);
  const galleryStart = readInteger(json.galleryStart, 'influence.galleryStart', 0, 4095, problems, 0);
  const galleryCount = readInteger(json.galleryCount, 'influence.galleryCount', 1, 256, problems, 24);
  if (
    galleryStart === undefined ||
    galleryCount === undefined ||
    problems.length > 0 ||
    !action ||
    !task ||
    !model ||
    examples === undefined ||
    !methods ||
    damping === undefined ||
    !query ||
    top === undefined ||
    ldsQueries === undefined ||
    subsets === undefined ||
    seeds === undefined ||
    ldsSteps === undefined
  )
    throw new JobConfigError(problems);
  return { action, task, model, examples, methods, damping, query, top, ldsQueries, subsets, seeds, ldsSteps, galleryStart, galleryCount };
}

/** The query as an image set of one (standardised) and how to show it. */
function querySet(images: InfluenceImages, q: InfluenceQuery): { set: ImageSet; shown: ShownImage & { kind: 'test' | 'drawn' } } {
  if (q.kind === 'test') {
    if (q.index >= images.test.count) throw new JobConfigError([`influence.query.index: the task has ${images.test.count} test images`]);
    const set = pickImages(images.test, [q.index]);
    return { set, shown: { kind: 'test', index: q.index, label: set.labels[0], pixels: toGreyLevels(images, set.images) } };
  }
  const standardised = standardise(images, q.pixels);
  // A drawn digit's label is the user's, else filled in with the model's prediction (below).
  return {
    set: { images: standardised, labels: Int32Array.of(q.label ?? 0), count: 1 },
    shown: { kind: 'drawn', index: -1, label: q.label ?? -1, pixels: toGreyLevels(images, standardised) },
  };
}

/** The model's class probabilities for one image. */
async function predict(model: ClassifierModel, set: ImageSet): Promise<number[]> {
  const be = model.backend;
  const probs = scope(() => {
    const x = be.tensor(set.images, [1, 1, 14, 14], 'float32');
    return keep(noGrad(() => be.softmax(model.forward(constant(x)).value)));
  });
  return Array.from(await readAndDispose(probs));
}

function trainImage(images: InfluenceImages, index: number): ShownImage {
  return {
    index,
    label: images.train.labels[index],
    pixels: toGreyLevels(images, images.train.images.subarray(index * 196, (index + 1) * 196)),
  };
}

export const influenceJob: JobDefinition<InfluenceJobConfig, InfluenceJobResult> = {
  kind: 'influence',
  about: 'influence of training images on a test image (identity, K-FAC, EK-FAC) and their LDS evaluation',
  parseConfig: parseInfluenceConfig,
  async run(config, { backend, signal, progress }) {
    progress({ stage: 'loading the data', done: 0, total: 1 });
    const checkpoint = sourceCheckpoint(config.model, 'influence', config.task);
    const images = await loadInfluenceImages(config.task);
    if (config.action === 'gallery') {
      const end = Math.min(images.test.count, config.galleryStart + config.galleryCount);
      const shown: ShownImage[] = [];
      for (let index = config.galleryStart; index < end; index++) {
        const set = pickImages(images.test, [index]);
        shown.push({ index, label: set.labels[0], pixels: toGreyLevels(images, set.images) });
      }
      return { result: { action: 'gallery', task: config.task, testCount: images.test.count, images: shown } };
    }
    const placed = (await loadTask(config.task)).place(backend);
    const trainRows = Int32Array.from({ length: Math.min(config.examples, images.train.count) }, (_, i) => i);
    const cancelled = rethrowCancelled(signal);
    const steps = config.model.kind === 'train' ? config.model.steps : config.ldsSteps;
    const seed = config.model.kind === 'train' ? config.model.seed : (checkpoint?.seed ?? 1);
    const recipe = { ...DEFAULT_RECIPE, steps };
    const { model, trainSeconds } = await classifierModel({
      placed,
      images,
      rows: trainRows,
      recipe,
      seed,
      checkpoint,
      task: config.task,
      signal,
      onStep: (s, loss) => progress({ stage: 'training the model', done: s + 1, total: steps, values: { loss } }),
    }).catch(cancelled);
    try {
      if (config.action === 'lds') {
        const queries = pickImages(
          images.test,
          Array.from({ length: Math.min(config.ldsQueries, images.test.count) }, (_, i) => i),
        );
        const inf = await classifierInfluence({
          model,
          task: config.task,
          images,
          trainRows,
          queries,
          methods: config.methods,
          relativeDamping: config.damping,
          signal,
          onProgress: progress,
        }).catch(cancelled);
        const lds = await classifierLds({
          placed,
          images,
          trainRows,
          queries,
          scores: inf.results.map((r) => ({ method: r.method, scores: r.scores })),
          subsets: config.subsets,
          seeds: config.seeds,
          recipe: { ...DEFAULT_RECIPE, steps: config.ldsSteps },
          seed,
          signal,
          onProgress: progress,
        }).catch(cancelled);
        return {
          result: {
            action: 'lds',
            task: config.task,
            examples: trainRows.length,
            queries: queries.count,
            subsets: lds.subsets,
            seeds: lds.seeds,
            steps: config.ldsSteps,
            methods: lds.methods.map(({ method, lds: l }) => ({
              method,
              mean: l.mean,
              spread: l.spread,
              perQuery: Array.from(l.perQuery),
            })),
            ceiling: lds.ceiling
              ? { mean: lds.ceiling.mean, spread: lds.ceiling.spread, perQuery: Array.from(lds.ceiling.perQuery) }
              : null,
            retrainSeconds: lds.retrainSeconds,
          },
        };
      }
      const { set, shown } = querySet(images, config.query);
      const probabilities = await predict(model, set);
      const predicted = probabilities.indexOf(Math.max(...probabilities));
      if (config.query.kind === 'drawn' && config.query.label === null) set.labels[0] = predicted;
      const inf = await classifierInfluence({
        model,
        task: config.task,
        images,
        trainRows,
        queries: set,
        methods: config.methods,
        relativeDamping: config.damping,
        signal,
        onProgress: progress,
      }).catch(cancelled);
      const bytes =
        config.model.kind === 'train'
          ? await encodeModel(model, {
              task: config.task,
              seed,
              step: steps,
              origin: { optimizer: 'adam', label: `influence recipe on ${trainRows.length} images` },
            })
          : null;
      const methods = inf.results.map((r) => {
        const [top] = topInfluences(r.scores, 1, r.examples, config.top);
        return {
          method: r.method,
          seconds: r.scoreSeconds,
          helpful: top.helpful.map((t) => ({ ...trainImage(images, trainRows[t.index]), score: t.score })),
          harmful: top.harmful.map((t) => ({ ...trainImage(images, trainRows[t.index]), score: t.score })),
          scores: Float32Array.from(r.scores),
        };
      });
      return {
        result: {
          action: 'scores',
          task: config.task,
          examples: trainRows.length,
          query: { ...shown, label: set.labels[0], predicted, probabilities, loss: inf.results[0].queryLoss[0] },
          damping: { relative: config.damping, absolute: inf.damping },
          kfacFitSeconds: inf.kfacFitSeconds,
          ekfacFitSeconds: inf.ekfacFitSeconds,
          methods,
          model: {
            source: checkpoint ? 'checkpoint' : 'trained',
            steps: checkpoint ? checkpoint.step : steps,
            seed,
            trainSeconds,
            checkpoint: bytes,
          },
        },
        transfer: [...methods.map((m) => m.scores.buffer), ...(bytes ? [bytes.buffer] : [])],
      };
    } finally {
      model.dispose();
      placed.dispose();
    }
  },
};
