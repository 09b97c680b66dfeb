// The 'diffusion' job: the Influence page's 2-D diffusion section (docs/curvature-tools.md §3). Train
// the small denoiser on a point cloud (or reuse the weights of a previous run), generate samples by
// ancestral DDPM sampling, and score every training point's influence on the first few samples with
// identity, K-FAC and EK-FAC (src/engine/diffusion/influence.ts, on the influence tool's scorer).
import type { Backend } from '../../engine/backend/backend.ts';
import {
  DEFAULT_DIFFUSION_SETUP,
  DIFFUSION_MEASUREMENTS,
  POINT_CLOUDS,
  diffusionInfluence,
  diffusionPoints,
  diffusionSchedule,
  buildDenoiser,
  trainDenoiser,
  sampleDdpm,
  type DiffusionMeasurement,
  type DiffusionSetup,
  type PointCloudId,
} from '../../engine/diffusion/index.ts';
import type { InfluenceMethod } from '../../engine/tools/influence/index.ts';
import {
  configRecord,
  describeValue,
  JobCancelledError,
  JobConfigError,
  readChoice,
  readInteger,
  readNumber,
  unknownFields,
  type ConfigProblems,
  type JobDefinition,
} from './job.ts';
import { MAX_TRAIN_STEPS } from './limits.ts';

/** The methods the page offers (the dense GGN needs the float64 CPU backend: the benchmark's business). */
export const DIFFUSION_METHODS = ['identity', 'kfac', 'ekfac'] as const satisfies readonly InfluenceMethod[];
export type DiffusionMethod = (typeof DIFFUSION_METHODS)[number];

export interface DiffusionJobConfig {
  cloud: PointCloudId;
  points: number;
  /** Hidden width and number of hidden layers of the denoiser. */
  width: number;
  depth: number;
  trainSteps: number;
  /** Seeds the weights, the batch order and the training draws. */
  seed: number;
  /** Samples generated (shown), and how many of them (the first) are scored. */
  samples: number;
  queries: number;
  sampleSeed: number;
  methods: DiffusionMethod[];
  measurement: DiffusionMeasurement;
  /** λ relative to K-FAC's mean eigenvalue. */
  relativeDamping: number;
  trainDraws: number;
  queryDraws: number;
  /** Weights of a previous result of the same data and model settings: skips training. */
  weights?: Record<string, Float32Array>;
}

export interface DiffusionJobResult {
  setup: DiffusionSetup;
  device: string;
  /** Training points [N·2], generated samples [S·2]; the first `queries` samples are scored. */
  points: Float32Array;
  samples: Float32Array;
  queries: number;
  /** Training loss per step (empty when the weights were reused). */
  losses: Float32Array;
  trainSeconds: number;
  sampleSeconds: number;
  trained: boolean;
  weights: Record<string, Float32Array>;
  influence: {
    measurement: DiffusionMeasurement;
    damping: number;
    relativeDamping: number;
    meanEigenvalue: number | null;
    trainDraws: number;
    queryDraws: number;
    /** Each scored sample's measurement, averaged over its draws. */
    queryLoss: Float64Array;
    methods: { method: DiffusionMethod; scores: Float64Array; fitSeconds: number; scoreSeconds: number }[];
  };
}

const FIELDS = [
  'cloud',
  'points',
  'width',
  'depth',
  'trainSteps',
  'seed',
  'samples',
  'queries',
  'sampleSeed',
  'methods',
  'measurement',
  'relativeDamping',
  'trainDraws',
  'queryDraws',
  'weights',
] as const;

function readMethods(value: unknown, problems: ConfigProblems): DiffusionMethod[] | undefined {
  if (value === undefined) return [...DIFFUSION_METHODS];
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`diffusion.methods: expected a non-empty list of ${DIFFUSION_METHODS.join(', ')}, got ${describeValue(value)}`);
    return undefined;
  }
  const out: DiffusionMethod[] = [];
  for (const m of value) {
    const method = readChoice(m, 'diffusion.methods[]', DIFFUSION_METHODS, problems);
    if (method && !out.includes(method)) out.push(method);
  }
  return out.length > 0 ? out : undefined;
}

function readWeights(value: unknown, problems: ConfigProblems): Record<string, Float32Array> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`diffusion.weights: expected { name: Float32Array } from a previous result, got ${describeValue(value)}`);
    return undefined;
  }
  const out: Record<string, Float32Array> = {};
  for (const [name, w] of Object.entries(value)) {
    if (!(w instanceof Float32Array)) {
      problems.push(`diffusion.weights.${name.slice(0, 40)}: expected a Float32Array, got ${describeValue(w)}`);
      continue;
    }
    out[name] = w;
  }
  return out;
}

export function parseDiffusionConfig(value: unknown): DiffusionJobConfig {
  const json = configRecord(value, 'diffusion');
  const p: ConfigProblems = [];
  unknownFields(json, FIELDS, 'diffusion', p);
  const d = DEFAULT_DIFFUSION_SETUP;
  const config = {
    cloud: readChoice(json.cloud, 'diffusion.cloud', POINT_CLOUDS, p, d.cloud),
    points: readInteger(json.points, 'diffusion.points', 16, 2048, p, d.points),
    width: readInteger(json.width, 'diffusion.width', 4, 256, p, d.hidden[0]),
    depth: readInteger(json.depth, 'diffusion.depth', 1, 4, p, d.hidden.length),
    trainSteps: readInteger(json.trainSteps, 'diffusion.trainSteps', 1, MAX_TRAIN_STEPS, p, d.trainSteps),
    seed: readInteger(json.seed, 'diffusion.seed', 0, 2 ** 31 - 1, p, 1),
    samples: readInteger(json.samples, 'diffusion.samples', 1, 4096, p, 256),
    queries: readInteger(json.queries, 'diffusion.queries', 1, 64, p, 8),
    sampleSeed: readInteger(json.sampleSeed, 'diffusion.sampleSeed', 0, 2 ** 31 - 1, p, 1),
    methods: readMethods(json.methods, p),
    measurement: readChoice(json.measurement, 'diffusion.measurement', DIFFUSION_MEASUREMENTS, p, 'loss'),
    relativeDamping: readNumber(json.relativeDamping, 'diffusion.relativeDamping', 1e-8, 1e4, p, 10),
    trainDraws: readInteger(json.trainDraws, 'diffusion.trainDraws', 1, 256, p, 32),
    queryDraws: readInteger(json.queryDraws, 'diffusion.queryDraws', 1, 1024, p, 64),
    weights: readWeights(json.weights, p),
  };
  if (config.cloud === 'spirals' && config.points !== undefined && config.points % 2 !== 0)
    p.push(`diffusion.points: the two spirals need an even number of points, got ${config.points}`);
  if (config.queries !== undefined && config.samples !== undefined && config.queries > config.samples)
    p.push(`diffusion.queries: at most the ${config.samples} samples generated, got ${config.queries}`);
  if (p.length > 0 || Object.entries(config).some(([k, v]) => v === undefined && k !== 'weights')) throw new JobConfigError(p);
  return config as DiffusionJobConfig;
}

export function diffusionSetupOf(config: DiffusionJobConfig): DiffusionSetup {
  return {
    ...DEFAULT_DIFFUSION_SETUP,
    cloud: config.cloud,
    points: config.points,
    hidden: Array.from({ length: config.depth }, () => config.width),
    trainSteps: config.trainSteps,
  };
}

async function cancellable<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    throw signal.aborted ? new JobCancelledError() : e;
  }
}

export async function runDiffusionJob(
  config: DiffusionJobConfig,
  context: {
    backend: Backend;
    signal: AbortSignal;
    progress: (p: { stage: string; done: number; total: number; values?: Record<string, number> }) => void;
  },
): Promise<DiffusionJobResult> {
  const { backend, signal, progress } = context;
  const setup = diffusionSetupOf(config);
  const schedule = diffusionSchedule(setup);
  const points = diffusionPoints(setup);
  const model = buildDenoiser(backend, setup, config.seed);
  try {
    let losses = new Float32Array(0);
    let trainSeconds = 0;
    if (config.weights) {
      try {
        model.loadWeights(config.weights);
      } catch (e) {
        throw new JobConfigError([
          `diffusion.weights: ${e instanceof Error ? e.message : String(e)} (train again after changing the model)`,
        ]);
      }
    } else {
      progress({ stage: 'training the denoiser', done: 0, total: setup.trainSteps });
      const trained = await cancellable(
        signal,
        trainDenoiser({
          model,
          schedule,
          points,
          steps: setup.trainSteps,
          batchSize: setup.batchSize,
          lr: setup.lr,
          seed: config.seed,
          signal,
          onStep: (step, loss) => progress({ stage: 'training the denoiser', done: step + 1, total: setup.trainSteps, values: { loss } }),
        }),
      );
      losses = Float32Array.from(trained.losses);
      trainSeconds = trained.ms / 1000;
    }
    const sampleStart = performance.now();
    const generated = await cancellable(
      signal,
      sampleDdpm(model, schedule, {
        count: config.samples,
        seed: config.sampleSeed,
        signal,
        onStep: (done, total) => progress({ stage: 'sampling (DDPM)', done, total }),
      }),
    );
    const sampleSeconds = (performance.now() - sampleStart) / 1000;
    const influence = await cancellable(
      signal,
      diffusionInfluence({
        model,
        schedule,
        points,
        samples: generated.points.subarray(0, 2 * config.queries),
        methods: config.methods,
        measurement: config.measurement,
        relativeDamping: config.relativeDamping,
        trainDraws: config.trainDraws,
        queryDraws: config.queryDraws,
        signal,
        onProgress: progress,
      }),
    );
    const saved = await model.saveWeights();
    const weights: Record<string, Float32Array> = {};
    for (const [name, w] of Object.entries(saved)) weights[name] = Float32Array.from(w);
    return {
      setup,
      device: backend.name,
      points,
      samples: generated.points,
      queries: config.queries,
      losses,
      trainSeconds,
      sampleSeconds,
      trained: !config.weights,
      weights,
      influence: {
        measurement: influence.measurement,
        damping: influence.damping,
        relativeDamping: config.relativeDamping,
        meanEigenvalue: influence.meanEigenvalue,
        trainDraws: influence.trainDraws,
        queryDraws: influence.queryDraws,
        queryLoss: influence.queryLoss,
        methods: influence.methods.map((m) => ({ ...m, method: m.method as DiffusionMethod })),
      },
    };
  } finally {
    model.dispose();
  }
}

export const diffusionJob: JobDefinition<DiffusionJobConfig, DiffusionJobResult> = {
  kind: 'diffusion',
  about: 'train the 2-D diffusion model, generate samples and score the influence of every training point on them',
  parseConfig: parseDiffusionConfig,
  async run(config, context) {
    const result = await runDiffusionJob(config, context);
    const buffers = [
      result.points,
      result.samples,
      result.losses,
      result.influence.queryLoss,
      ...result.influence.methods.map((m) => m.scores),
    ];
    return { result, transfer: buffers.map((b) => b.buffer as ArrayBuffer) };
  },
};
