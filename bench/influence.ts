// Influence benchmark (docs/curvature-tools.md §3): how well influence scores under identity, K-FAC
// and EK-FAC predict retraining, by the linear datamodelling score (LDS), on the MNIST MLP, the MNIST
// CNN and the 2-D diffusion model (bench/influence-diffusion.ts, engineer D's), plus the time to
// score, the removal test on the MLP, and the time to score all 4,096 training images for 100
// queries on the MLP on the CPU backends.
//
// Protocol per classifier (runInfluenceExperiment, the same code as `npm run influence`): train the
// model by a short Adam recipe on the first N training images (seed 1); score those N images on the
// first Q test images with λ = 0.1 × K-FAC's mean eigenvalue (fixed in advance, not tuned); retrain
// from scratch on M random halves of the N images with S seeds each (the same recipe) and measure the
// test images' losses; LDS per query = Spearman over the halves of Σ_{n ∉ S_k} score(q, n) and the
// seed-averaged loss; the ceiling is the Spearman between the two halves of the seeds. Retraining is
// kept cheap (N = 1000 / 500 images, a few hundred steps): that is stated in the results.
// The exact GGN is not run on these models: it is a dense P×P matrix (P = 17,418 / 11,178).
//
// Usage: npm run bench -- influence [--backend wasm|cpu|webgpu] [--models mlp-mnist,cnn-mnist,diffusion-2d]
//   [--subsets 50] [--seeds 2] [--cpu-timing] [--quick]
// A run of some of the models keeps the other models' rows from the previous results file (each run is
// listed with its date, device and wall-clock), so the models can be run separately within the time
// budget. --cpu-timing adds the scoring time on the float64 reference CPU backend (about 2 minutes).
// Writes bench/results/influence.{json,md}; rows are exactly { model, method, lds, ldsSpread, ceiling, secondsPerQuery },
// secondsPerQuery = (curvature fit + scoring all N training examples) / Q.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Backend } from '../src/engine/backend/backend.ts';
import { createBackend } from '../src/engine/backend/create-backend.ts';
import { loadTask } from '../src/engine/lab/tasks.ts';
import {
  classifierInfluence,
  DEFAULT_RECIPE,
  imageData,
  loadInfluenceImages,
  pickImages,
  trainClassifier,
  type InfluenceTaskId,
  type TrainingRecipe,
} from '../src/engine/tools/influence/classifier.ts';
import { dataLosses } from '../src/engine/tools/influence/example-loss.ts';
import { runInfluenceExperiment, type InfluenceExperiment } from '../src/engine/tools/influence/experiment.ts';
import { removalTest, type RemovalResult } from '../src/engine/tools/influence/lds.ts';
import type { InfluenceMethod } from '../src/engine/tools/influence/scores.ts';

export interface InfluenceBenchRow {
  model: string;
  method: InfluenceMethod;
  lds: number;
  ldsSpread: number;
  ceiling: number;
  secondsPerQuery: number;
}

const METHODS: InfluenceMethod[] = ['identity', 'kfac', 'ekfac'];
const DAMPING = 0.1;

/** Per classifier: N training images, Q test queries and the training recipe (steps, batch). */
const PROTOCOL: Record<InfluenceTaskId, { examples: number; queries: number; steps: number; batchSize: number }> = {
  'mlp-mnist': { examples: 1000, queries: 20, steps: 300, batchSize: 64 },
  'cnn-mnist': { examples: 500, queries: 20, steps: 100, batchSize: 32 },
};

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface ClassifierSection {
  model: InfluenceTaskId;
  protocol: (typeof PROTOCOL)[InfluenceTaskId];
  experiment: Omit<InfluenceExperiment, 'methods'> & { methods: Omit<InfluenceExperiment['methods'][number], 'top'>[] };
  removal: {
    k: number;
    queries: number[];
    seeds: number;
    methods: { method: InfluenceMethod; result: Omit<RemovalResult, 'topK' | 'random'> & { topK: number[]; random: number[] } }[];
  } | null;
}

async function classifierSection(
  backend: Backend,
  task: InfluenceTaskId,
  M: number,
  S: number,
  quick: boolean,
  withRemoval: boolean,
): Promise<ClassifierSection> {
  const p = quick ? { examples: 96, queries: 4, steps: 30, batchSize: 32 } : PROTOCOL[task];
  log(`${task}: N = ${p.examples}, Q = ${p.queries}, ${p.steps} Adam steps (batch ${p.batchSize}), M = ${M} half subsets × S = ${S} seeds`);
  let lastStage = '';
  const started = performance.now();
  const experiment = await runInfluenceExperiment({
    backend,
    task,
    methods: METHODS,
    examples: p.examples,
    queries: p.queries,
    steps: p.steps,
    batchSize: p.batchSize,
    relativeDamping: DAMPING,
    top: 5,
    seed: 1,
    lds: { subsets: M, seeds: S },
    keepScores: withRemoval,
    onProgress: (x) => {
      const stage = `${x.stage} ${Math.floor((10 * x.done) / Math.max(1, x.total)) * 10}%`;
      if (stage !== lastStage && (x.done === x.total || x.stage.startsWith('retraining'))) log(`  ${stage}`);
      lastStage = stage;
    },
  });
  log(`  done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  for (const m of experiment.methods) log(`  ${m.method}: LDS ${m.lds?.mean.toFixed(3)} ± ${m.lds?.spread.toFixed(3)}`);
  log(`  ceiling ${experiment.lds?.ceiling?.mean.toFixed(3)}`);

  let removal: ClassifierSection['removal'] = null;
  if (withRemoval && experiment.scores) {
    // Retrain without each query's k most helpful images vs k random ones (same seed), 3 queries, 1 seed.
    const k = quick ? 8 : 50;
    const queries = [0, 1, 2].filter((q) => q < p.queries);
    const images = await loadInfluenceImages(task);
    const placed = (await loadTask(task)).place(backend);
    const recipe: TrainingRecipe = { ...DEFAULT_RECIPE, steps: p.steps, batchSize: p.batchSize };
    const querySet = pickImages(
      images.test,
      Array.from({ length: p.queries }, (_, i) => i),
    );
    const baseCache = new Map<number, Float64Array>();
    const lossesOf = async (rows: Int32Array, seed: number) => {
      const model = await trainClassifier({ placed, images, rows, recipe, seed });
      try {
        return await dataLosses(
          imageData(
            model,
            querySet,
            Int32Array.from({ length: querySet.count }, (_, i) => i),
            256,
          ),
        );
      } finally {
        model.dispose();
      }
    };
    const methods: NonNullable<ClassifierSection['removal']>['methods'] = [];
    for (const method of METHODS) {
      const scores = Float64Array.from(experiment.scores[method].flat());
      const result = await removalTest({
        scores,
        queries,
        examples: p.examples,
        k,
        seeds: [7],
        randomSeed: 3,
        retrain: async (keep, seed, q) => {
          if (keep.length === p.examples) {
            if (!baseCache.has(seed)) baseCache.set(seed, await lossesOf(keep, seed));
            return baseCache.get(seed)![q];
          }
          return (await lossesOf(keep, seed))[q];
        },
      });
      log(
        `  removal of the top ${k} (${method}): mean query-loss change ${result.meanTopK.toFixed(3)} vs ${result.meanRandom.toFixed(3)} for ${k} random`,
      );
      methods.push({
        method,
        result: {
          meanTopK: result.meanTopK,
          meanRandom: result.meanRandom,
          topK: Array.from(result.topK),
          random: Array.from(result.random),
        },
      });
    }
    placed.dispose();
    removal = { k, queries, seeds: 1, methods };
  }
  const { scores: _scores, ...rest } = experiment;
  return { model: task, protocol: p, experiment: { ...rest, methods: rest.methods.map(({ top: _top, ...m }) => m) }, removal };
}

/** Scoring all training images of the MLP for 100 queries, per method, on a backend (the model's weights do not change the cost). */
async function scoringTime(backend: Backend, methods: InfluenceMethod[], quick: boolean) {
  const task: InfluenceTaskId = 'mlp-mnist';
  const images = await loadInfluenceImages(task);
  const placed = (await loadTask(task)).place(backend);
  const N = quick ? 512 : images.train.count;
  const Q = quick ? 10 : 100;
  const trainRows = Int32Array.from({ length: N }, (_, i) => i);
  const model = await trainClassifier({ placed, images, rows: trainRows, recipe: { ...DEFAULT_RECIPE, steps: quick ? 5 : 50 }, seed: 1 });
  try {
    const inf = await classifierInfluence({
      model,
      task,
      images,
      trainRows,
      queries: pickImages(
        images.test,
        Array.from({ length: Q }, (_, i) => i),
      ),
      methods,
      relativeDamping: DAMPING,
    });
    const out = {
      backend: backend.info.summary,
      examples: N,
      queries: Q,
      kfacFitSeconds: inf.kfacFitSeconds,
      ekfacFitSeconds: inf.ekfacFitSeconds,
      methods: inf.results.map((r) => ({ method: r.method, scoreSeconds: r.scoreSeconds })),
    };
    for (const m of out.methods)
      log(
        `  ${backend.name}: ${m.method} scores ${N} images × ${Q} queries in ${m.scoreSeconds.toFixed(2)} s (+ K-FAC fit ${inf.kfacFitSeconds.toFixed(2)} s${m.method === 'ekfac' ? `, Λ ${inf.ekfacFitSeconds.toFixed(2)} s` : ''})`,
      );
    return out;
  } finally {
    model.dispose();
    placed.dispose();
  }
}

interface PreviousRun {
  rows: InfluenceBenchRow[];
  runs: { date: string; device: string; models: string[]; subsets: number; seeds: number; wallSeconds: number }[];
  classifiers: ClassifierSection[];
  timing: Awaited<ReturnType<typeof scoringTime>>[];
  diffusion: unknown;
}

/** The results of an earlier run, if there is one in the current format. */
function readPrevious(path: string): PreviousRun | null {
  if (!existsSync(path)) return null;
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as Partial<PreviousRun>;
    return Array.isArray(json.rows) && Array.isArray(json.runs) && Array.isArray(json.classifiers) ? (json as PreviousRun) : null;
  } catch {
    return null;
  }
}

export function influenceMarkdown(out: {
  device: string;
  date: string;
  settings: Record<string, unknown>;
  rows: InfluenceBenchRow[];
  classifiers: ClassifierSection[];
  timing: Awaited<ReturnType<typeof scoringTime>>[];
  diffusion: unknown;
  runs: PreviousRun['runs'];
  wallSeconds: number;
}): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
  const lines = [
    '# Influence: LDS of identity, K-FAC and EK-FAC (npm run bench -- influence)',
    '',
    ...out.runs.map(
      (r) =>
        `Run of ${r.models.join(', ')}: ${r.device}, ${r.date}, M = ${r.subsets} half subsets × S = ${r.seeds} seeds, ${r.wallSeconds.toFixed(0)} s wall-clock on a shared 2-core VM.`,
    ),
    '',
    'LDS = Spearman over M random half subsets between Σ_{n∉S} score(q, n) and the query loss after retraining (averaged over S seeds), mean ± sd over queries; ceiling = seed-to-seed Spearman (first half of the seeds vs the second). secondsPerQuery = (curvature fit + scoring all N training examples) / Q.',
    '',
    '| model | method | LDS | ± spread | ceiling | s per query |',
    '|---|---|---|---|---|---|',
    ...out.rows.map(
      (r) => `| ${r.model} | ${r.method} | ${f(r.lds)} | ${f(r.ldsSpread)} | ${f(r.ceiling)} | ${r.secondsPerQuery.toPrecision(3)} |`,
    ),
    '',
    '## Classifier protocol',
    '',
  ];
  for (const c of out.classifiers) {
    const e = c.experiment;
    lines.push(
      `- ${c.model}: N = ${e.examples} training images (the first of the task's), Q = ${e.queries.length} test images, ${e.recipe.steps} Adam steps (batch ${e.recipe.batchSize}, lr ${e.recipe.lr}) per training and retraining, λ = ${e.damping.relative} × mean K-FAC eigenvalue = ${e.damping.absolute.toExponential(3)}; K-FAC fit ${e.kfacFitSeconds.toFixed(2)} s, EK-FAC Λ ${e.ekfacFitSeconds.toFixed(2)} s; ${e.lds?.subsets} subsets × ${e.lds?.seeds} seeds retrained in ${e.lds?.retrainSeconds.toFixed(0)} s.`,
    );
    if (c.removal) {
      lines.push(
        `  Removal test (${c.removal.queries.length} queries, 1 seed): mean change of the query's loss after retraining without its top ${c.removal.k} helpful images vs ${c.removal.k} random ones:`,
      );
      for (const m of c.removal.methods) lines.push(`  ${m.method} ${m.result.meanTopK.toFixed(3)} vs ${m.result.meanRandom.toFixed(3)}.`);
    }
  }
  lines.push('', '## Scoring time, MNIST MLP (all training images × queries)', '');
  lines.push('| backend | N | Q | method | scoring s | K-FAC fit s | EK-FAC Λ s |', '|---|---|---|---|---|---|---|');
  for (const t of out.timing)
    for (const m of t.methods)
      lines.push(
        `| ${t.backend} | ${t.examples} | ${t.queries} | ${m.method} | ${m.scoreSeconds.toFixed(2)} | ${t.kfacFitSeconds.toFixed(2)} | ${m.method === 'ekfac' ? t.ekfacFitSeconds.toFixed(2) : '—'} |`,
      );
  const d = out.diffusion as {
    settings?: {
      setup: { points: number; cloud: string; trainSteps: number };
      subsets: number;
      seeds: number;
      queries: number;
      relativeDamping: number;
      retrainSeconds: number;
    };
    measurement?: string;
  } | null;
  if (d?.settings) {
    const t = d.settings;
    lines.push(
      '',
      '## Diffusion protocol (bench/influence-diffusion.ts)',
      '',
      `diffusion-2d: ${t.setup.points} ${t.setup.cloud} points, ${t.setup.trainSteps} Adam steps per training and retraining, Q = ${t.queries} generated samples, measurement "${d.measurement}", λ = ${t.relativeDamping} × mean K-FAC eigenvalue; ${t.subsets} subsets × ${t.seeds} seeds retrained in ${t.retrainSeconds.toFixed(0)} s.`,
    );
  }
  lines.push(
    '',
    'The exact GGN is not run on the MNIST models (a dense 17,418² / 11,178² matrix); its oracles are in test/tools/influence.test.ts.',
  );
  return `${lines.join('\n')}\n`;
}

export async function runInfluenceBench(args: string[]): Promise<void> {
  const started = performance.now();
  const quick = args.includes('--quick');
  const M = Number(option(args, '--subsets', quick ? '4' : '50'));
  const S = Number(option(args, '--seeds', '2'));
  const models = option(args, '--models', 'mlp-mnist,cnn-mnist,diffusion-2d').split(',');
  const backend = await createBackend({ prefer: option(args, '--backend', 'wasm') as 'wasm' | 'cpu' | 'webgpu' });
  log(`influence bench on ${backend.info.summary}`);
  const rows: InfluenceBenchRow[] = [];
  const classifiers: ClassifierSection[] = [];
  const timing: Awaited<ReturnType<typeof scoringTime>>[] = [];
  let diffusion: unknown = null;
  try {
    for (const task of ['mlp-mnist', 'cnn-mnist'] as const) {
      if (!models.includes(task)) continue;
      const c = await classifierSection(backend, task, M, S, quick, task === 'mlp-mnist');
      classifiers.push(c);
      const e = c.experiment;
      for (const m of e.methods) {
        const fit = m.method === 'identity' ? 0 : e.kfacFitSeconds + (m.method === 'ekfac' ? e.ekfacFitSeconds : 0);
        rows.push({
          model: task,
          method: m.method,
          lds: m.lds?.mean ?? Number.NaN,
          ldsSpread: m.lds?.spread ?? Number.NaN,
          ceiling: e.lds?.ceiling?.mean ?? Number.NaN,
          secondsPerQuery: (fit + m.scoreSeconds) / e.queries.length,
        });
      }
    }
    if (models.includes('mlp-mnist')) {
      log('scoring time, MNIST MLP:');
      timing.push(await scoringTime(backend, METHODS, quick));
      if (args.includes('--cpu-timing') && backend.name !== 'cpu') {
        const cpu = await createBackend({ prefer: 'cpu' });
        try {
          timing.push(await scoringTime(cpu, ['kfac'], quick));
        } finally {
          cpu.destroy();
        }
      }
    }
    if (models.includes('diffusion-2d')) {
      log('diffusion-2d (bench/influence-diffusion.ts):');
      const { diffusionInfluenceBench } = await import('./influence-diffusion.ts');
      const d = await diffusionInfluenceBench({ backend, subsets: M, seeds: S, quick, log: (line) => log(`  ${line}`) });
      for (const r of d.rows)
        rows.push({
          model: r.model,
          method: r.method,
          lds: r.lds,
          ldsSpread: r.ldsSpread,
          ceiling: r.ceiling,
          secondsPerQuery: r.secondsPerQuery,
        });
      diffusion = { settings: d.settings, measurement: d.rows[0]?.measurement ?? null };
    }
  } finally {
    backend.destroy();
  }
  // A run of some models keeps the other models' sections of an earlier run (each section carries
  // its own date and device), so the models can be run separately, each within the time budget.
  const name = quick ? 'influence-quick' : 'influence';
  const ran = (m: string) => models.includes(m);
  const previous = readPrevious(`bench/results/${name}.json`);
  const date = new Date().toISOString();
  const kept = previous ? previous.rows.filter((r) => !ran(r.model)) : [];
  const out = {
    bench: 'influence',
    device: backend.info.summary,
    date,
    settings: { subsets: M, seeds: S, relativeDamping: DAMPING, methods: METHODS, quick, protocol: PROTOCOL },
    rows: [
      ...kept.filter((r) => r.model !== 'diffusion-2d'),
      ...rows.filter((r) => r.model !== 'diffusion-2d'),
      ...kept.filter((r) => r.model === 'diffusion-2d'),
      ...rows.filter((r) => r.model === 'diffusion-2d'),
    ],
    runs: [
      ...(previous?.runs ?? []).map((r) => ({ ...r, models: r.models.filter((m) => !ran(m)) })).filter((r) => r.models.length > 0),
      { date, device: backend.info.summary, models, subsets: M, seeds: S, wallSeconds: (performance.now() - started) / 1000 },
    ],
    classifiers: [...(previous?.classifiers ?? []).filter((c) => !ran(c.model)), ...classifiers],
    timing: timing.length > 0 ? timing : (previous?.timing ?? []),
    diffusion: diffusion ?? (ran('diffusion-2d') ? null : (previous?.diffusion ?? null)),
    wallSeconds: (performance.now() - started) / 1000,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${name}.json`, `${JSON.stringify(out, null, 2)}\n`);
  writeFileSync(`bench/results/${name}.md`, influenceMarkdown(out));
  log(`wrote bench/results/${name}.{json,md} in ${out.wallSeconds.toFixed(0)} s`);
}
