// Why K-FAC does not beat a tuned Adam on the tiny ViT (bench/reproduce.ts found 0.98–1.02× Adam's
// steps with λ = 1 tuned on both flavours): an ablation that changes ONE thing at a time from the
// race's tuned K-FAC-reduce, under the race's own protocol (warm-up + cosine to the race's step limit,
// KL clip off, Adam's tuned lr for the fallback parameters, target 0.70, dense evaluation — imported
// from bench/reproduce.ts, not copied), plus direct measurements of what the hypotheses are about:
//
// 1. Cost per step of each variant (Adam, K-FAC-reduce with MC 1 sample, MC k samples, type-2).
// 2. Factor noise (docs/kfac.md §2-§3): the relative Frobenius distance of one batch's A, G and A ⊗ G
//    (MC 1, MC k, type-2; batch 32 and 64) from a type-2 reference over many batches, on the initial
//    model and on one trained part-way by Adam; and the same for an average of many MC-1 batches (what
//    the running average with ε sees). The spectrum of the reference factors against the damping:
//    the condition numbers of the π-damped factors and the share of Kronecker eigenvalues a_i g_j
//    above λ (the directions where the curvature, not the damping, sets the step).
// 3. Which parameters the K-FAC layers do not cover on the ViT (the fallback Adam's) and their share of
//    the parameters, of the gradient and of one step's update.
// 4. Training cells, each the median over seeds of steps to the target: Fisher type × λ ∈ {1e-3 … 1},
//    each λ with the same lr grid (multiples of √λ, centred on the race's trials), and one-off changes
//    at the race's values: ε = 0.99, batch 32, fallback parameters frozen. Cells run in a fixed order
//    under a wall-clock budget; any not run are listed as such.
//
// Results: bench/results/kfac-ablation.{json,md}.
// Usage: npm run bench -- kfac-ablation [--backend wasm] [--seeds 1,2,3] [--max-steps 150] [--budget-s 760]
//          [--groups extras,mc1,type2,mck,batch32] [--mc-samples 4] [--probe] [--report-only]
//        then optionally: --shares-only (adds the per-group step shares), --add-cells [--groups g] [--seeds s]
//        [--lr-mults 0.01] [--dampings 0.01] (more cells or seeds into the saved run)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createBackend } from '../src/engine/backend/create-backend.ts';
import type { Backend } from '../src/engine/backend/backend.ts';
import { runExperiment } from '../src/engine/lab/experiment.ts';
import type { OptimizerEntry } from '../src/engine/lab/experiment-config.ts';
import { loadTask, TASKS } from '../src/engine/lab/tasks.ts';
import { deviceOf, type LabDevice } from '../src/engine/lab/report.ts';
import { trainModel } from '../src/engine/lab/train-model.ts';
import { createOptimizer } from '../src/engine/optim/factory.ts';
import type { ParamValue } from '../src/engine/optim/schema.ts';
import { fitCurvature, taskData, type KroneckerCurvature } from '../src/engine/curvature/toolkit.ts';
import { hostEigenvalues } from '../src/engine/linalg/host-eigh.ts';
import { readAndDispose } from '../src/engine/tensor.ts';
import { grad } from '../src/engine/autograd/backward.ts';
import { computeLoss } from '../src/engine/nn/losses.ts';
import type { Module } from '../src/engine/nn/module.ts';
import type { PlacedTask } from '../src/engine/lab/tasks/definition.ts';
import { baseEntry, configOf, PLANS, type TaskPlan } from './reproduce.ts';

const TASK = 'vit-mnist' as const;
const RACE_JSON = 'bench/results/reproduce-wasm.json';
const DAMPINGS = [1e-3, 1e-2, 1e-1, 1];
/** The lr grid of every λ: these multiples of √λ (the race's good trials lie near lr ≈ 0.03–0.1 √λ). */
const LR_PER_ROOT_DAMPING = [0.03, 0.1];

type Fisher = 'mc1' | 'mck' | 'type2';

interface Cell {
  group: string;
  label: string;
  /** What differs from the race's tuned K-FAC-reduce. */
  change: string;
  optimizer: 'kfac-reduce' | 'adam';
  hyper: Record<string, ParamValue>;
  batchSize: number;
}

interface CellResult extends Cell {
  steps: (number | null)[];
  median: number | null;
  msPerStep: number[];
  errors: string[];
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median of steps where a miss counts as beyond every reached value (so it ranks last). */
function medianSteps(steps: (number | null)[]): number | null {
  const v = steps.map((s) => s ?? Infinity).sort((a, b) => a - b);
  const m = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  return Number.isFinite(m) ? m : null;
}

function fisherHyper(f: Fisher, k: number): Record<string, ParamValue> {
  return f === 'type2' ? { fisherType: 'type-2' } : { fisherType: 'mc', mcSamples: f === 'mc1' ? 1 : k };
}

function fisherName(f: Fisher, k: number): string {
  return f === 'type2' ? 'type-2' : f === 'mc1' ? 'MC 1' : `MC ${k}`;
}

interface RaceTuned {
  lr: number;
  damping: number;
  adamLr: number;
  adamBeta1: number;
}

function raceTuned(): RaceTuned {
  const saved = JSON.parse(readFileSync(RACE_JSON, 'utf8')) as {
    tasks: { task: string; rows: { optimizer: string; tuned: Record<string, number> }[] }[];
  };
  const t = saved.tasks.find((x) => x.task === TASK);
  if (!t) throw new Error(`${RACE_JSON}: no ${TASK} task (run npm run bench -- reproduce --backend wasm first)`);
  const row = (id: string) => {
    const r = t.rows.find((x) => x.optimizer === id);
    if (!r) throw new Error(`${RACE_JSON}: ${TASK} has no ${id} row`);
    return r.tuned;
  };
  return { lr: row('kfac-reduce').lr, damping: row('kfac-reduce').damping, adamLr: row('adam').lr, adamBeta1: row('adam').beta1 ?? 0.9 };
}

function cellsOf(tuned: RaceTuned, k: number, batch: number, lrMults = LR_PER_ROOT_DAMPING, dampings = DAMPINGS): Cell[] {
  const cells: Cell[] = [];
  for (const f of ['mc1', 'type2', 'mck'] as Fisher[]) {
    for (const damping of dampings) {
      for (const m of lrMults) {
        const lr = Number((m * Math.sqrt(damping)).toPrecision(2));
        cells.push({
          group: f,
          label: `${fisherName(f, k)} λ=${damping} lr=${lr}`,
          change:
            f === 'mc1'
              ? damping === tuned.damping && lr === tuned.lr
                ? 'none (the race’s tuned values)'
                : 'λ, lr'
              : 'Fisher type, λ, lr',
          optimizer: 'kfac-reduce',
          hyper: { ...fisherHyper(f, k), damping, lr },
          batchSize: batch,
        });
      }
    }
  }
  const race = { ...fisherHyper('mc1', k), damping: tuned.damping, lr: tuned.lr };
  cells.push(
    {
      group: 'extras',
      label: 'Adam (race-tuned)',
      change: 'first-order reference',
      optimizer: 'adam',
      hyper: { lr: tuned.adamLr, beta1: tuned.adamBeta1 },
      batchSize: batch,
    },
    {
      group: 'extras',
      label: 'MC 1, ε=0.99',
      change: 'factor decay ε 0.95 → 0.99',
      optimizer: 'kfac-reduce',
      hyper: { ...race, factorDecay: 0.99 },
      batchSize: batch,
    },
    {
      group: 'extras',
      label: 'MC 1, fallback frozen',
      change: 'fallback lr 1e-6 (LayerNorm, embeddings barely move)',
      optimizer: 'kfac-reduce',
      hyper: { ...race, fallbackLr: 1e-6 },
      batchSize: batch,
    },
    {
      group: 'batch32',
      label: 'Adam, batch 32',
      change: 'batch 64 → 32',
      optimizer: 'adam',
      hyper: { lr: tuned.adamLr, beta1: tuned.adamBeta1 },
      batchSize: 32,
    },
    { group: 'batch32', label: 'MC 1, batch 32', change: 'batch 64 → 32', optimizer: 'kfac-reduce', hyper: race, batchSize: 32 },
  );
  return cells;
}

// ---- 1. cost per step -------------------------------------------------------------------------------

interface StepCost {
  label: string;
  msPerStep: number;
  /** Relative to Adam's. */
  ratio: number;
}

async function stepCosts(placed: PlacedTask, tuned: RaceTuned, k: number, batch: number): Promise<StepCost[]> {
  const variants: [string, string, Record<string, ParamValue>][] = [
    ['Adam', 'adam', { lr: tuned.adamLr }],
    [
      'K-FAC-reduce MC 1',
      'kfac-reduce',
      { lr: tuned.lr, damping: tuned.damping, klClip: 0, fallbackLr: tuned.adamLr, ...fisherHyper('mc1', k) },
    ],
    [
      `K-FAC-reduce MC ${k}`,
      'kfac-reduce',
      { lr: tuned.lr, damping: tuned.damping, klClip: 0, fallbackLr: tuned.adamLr, ...fisherHyper('mck', k) },
    ],
    [
      'K-FAC-reduce type-2',
      'kfac-reduce',
      { lr: tuned.lr, damping: tuned.damping, klClip: 0, fallbackLr: tuned.adamLr, ...fisherHyper('type2', k) },
    ],
  ];
  const states = variants.map(([label, id, hyper]) => ({
    label,
    model: placed.buildModel(1),
    opt: createOptimizer(id, hyper, { seed: 1 }),
    ms: [] as number[],
  }));
  const rows = (s: number) => Int32Array.from({ length: batch }, (_, i) => (s * batch + i) % 4096);
  // 10 untimed steps (compilation, the K-FAC warm start of 5 steps), then 2 blocks of 10 steps
  // (one inversion each at T_inv 10) interleaved across the variants.
  for (let block = 0; block < 3; block++) {
    for (const s of states) {
      s.opt.timing = false;
      const t0 = performance.now();
      for (let j = 0; j < 10; j++) {
        const step = block * 10 + j;
        const b = placed.batch(s.model, rows(step));
        const out = await s.opt.trainStep({ params: s.model.parameters(), forward: b.forward, loss: b.loss, step });
        await readAndDispose(out.loss);
        b.dispose();
      }
      if (block > 0) s.ms.push((performance.now() - t0) / 10);
    }
  }
  const adam = median(states[0].ms)!;
  const out = states.map((s) => ({ label: s.label, msPerStep: median(s.ms)!, ratio: median(s.ms)! / adam }));
  states.forEach((s) => s.opt.dispose?.());
  return out;
}

// ---- 2. factor noise and the spectrum against λ -----------------------------------------------------

interface HostFactors {
  names: string[];
  A: Float64Array[];
  G: Float64Array[];
  dA: number[];
  dG: number[];
}

async function hostFactors(c: KroneckerCurvature): Promise<HostFactors> {
  const out: HostFactors = { names: [], A: [], G: [], dA: [], dG: [] };
  for (const l of c.layers) {
    out.names.push(l.name);
    out.A.push(Float64Array.from((await l.A.read()) as ArrayLike<number>));
    out.G.push(Float64Array.from((await l.G.read()) as ArrayLike<number>));
    out.dA.push(l.A.shape[0]);
    out.dG.push(l.G.shape[0]);
  }
  c.dispose();
  return out;
}

const dot = (x: Float64Array, y: Float64Array) => x.reduce((s, v, i) => s + v * y[i], 0);

/** ‖X − R‖_F / ‖R‖_F for A, G and the Kronecker product (⟨A⊗G, A'⊗G'⟩ = ⟨A,A'⟩⟨G,G'⟩). */
function distances(x: HostFactors, ref: HostFactors, layer: number): { A: number; G: number; AG: number } {
  const [a, g, ra, rg] = [x.A[layer], x.G[layer], ref.A[layer], ref.G[layer]];
  const rel = (u: Float64Array, r: Float64Array) => Math.sqrt(Math.max(0, dot(u, u) - 2 * dot(u, r) + dot(r, r)) / dot(r, r));
  const kk = dot(a, a) * dot(g, g) - 2 * dot(a, ra) * dot(g, rg) + dot(ra, ra) * dot(rg, rg);
  return { A: rel(a, ra), G: rel(g, rg), AG: Math.sqrt(Math.max(0, kk) / (dot(ra, ra) * dot(rg, rg))) };
}

interface NoiseRow {
  state: string;
  estimate: string;
  batch: number;
  batches: number;
  /** Median over the draws of the mean over layers; and the per-layer medians. */
  A: number;
  G: number;
  AG: number;
  perLayerAG: number[];
}

interface SpectrumRow {
  state: string;
  layer: string;
  dA: number;
  dG: number;
  /** Eigenvalue range of the reference factors. */
  aMax: number;
  aMin: number;
  gMax: number;
  gMin: number;
  /** π of π-damping, per λ: cond(A + π√λ I), cond(G + √λ/π I), share of a_i g_j > λ. */
  perDamping: { damping: number; condA: number; condG: number; shareAbove: number }[];
}

async function measureNoise(
  placed: PlacedTask,
  model: Module,
  state: string,
  k: number,
  draws: number,
  refBatches: number,
): Promise<{ noise: NoiseRow[]; spectrum: SpectrumRow[]; fitMs: Record<string, number> }> {
  const fit = async (examples: Int32Array, fisher: 'type-2' | 'mc', mcSamples: number, batchSize: number, seed: number) => {
    const t0 = performance.now();
    const c = await fitCurvature(model, taskData(placed, model, { examples, batchSize }), { approx: 'reduce', fisher, mcSamples, seed });
    const ms = performance.now() - t0;
    return { f: await hostFactors(c), ms };
  };
  const range = (start: number, n: number) => Int32Array.from({ length: n }, (_, i) => start + i);
  // Reference: type-2 over refBatches × 64 examples (examples 0 … ), draws from examples 2048 onwards.
  const ref = (await fit(range(0, refBatches * 64), 'type-2', 1, 64, 0)).f;
  const noise: NoiseRow[] = [];
  const fitMs: Record<string, number> = {};
  const estimates: [string, 'type-2' | 'mc', number][] = [
    ['MC 1', 'mc', 1],
    [`MC ${k}`, 'mc', k],
    ['type-2', 'type-2', 1],
  ];
  for (const batch of [32, 64]) {
    for (const [name, fisher, samples] of estimates) {
      const per: { A: number; G: number; AG: number; layers: number[] }[] = [];
      const times: number[] = [];
      for (let d = 0; d < draws; d++) {
        const { f, ms } = await fit(range(2048 + d * batch, batch), fisher, samples, batch, 100 + d);
        times.push(ms);
        const ds = ref.names.map((_, l) => distances(f, ref, l));
        per.push({
          A: ds.reduce((s, x) => s + x.A, 0) / ds.length,
          G: ds.reduce((s, x) => s + x.G, 0) / ds.length,
          AG: ds.reduce((s, x) => s + x.AG, 0) / ds.length,
          layers: ds.map((x) => x.AG),
        });
      }
      fitMs[`${name}, batch ${batch}`] = median(times)!;
      noise.push({
        state,
        estimate: name,
        batch,
        batches: 1,
        A: median(per.map((p) => p.A))!,
        G: median(per.map((p) => p.G))!,
        AG: median(per.map((p) => p.AG))!,
        perLayerAG: ref.names.map((_, l) => median(per.map((p) => p.layers[l]))!),
      });
    }
  }
  // An average of many MC-1 batches (what a running average sees, drift aside): 20 batches ≈ the
  // effective window (1+ε)/(1−ε) = 39 of ε = 0.95 halved.
  for (const n of [4, 20]) {
    const { f } = await fit(range(2048, n * 64), 'mc', 1, 64, 7);
    const ds = ref.names.map((_, l) => distances(f, ref, l));
    noise.push({
      state,
      estimate: `MC 1, mean of ${n} batches`,
      batch: 64,
      batches: n,
      A: ds.reduce((s, x) => s + x.A, 0) / ds.length,
      G: ds.reduce((s, x) => s + x.G, 0) / ds.length,
      AG: ds.reduce((s, x) => s + x.AG, 0) / ds.length,
      perLayerAG: ds.map((x) => x.AG),
    });
  }
  const spectrum: SpectrumRow[] = ref.names.map((name, l) => {
    const a = hostEigenvalues(ref.A[l], ref.dA[l]).map((v) => Math.max(v, 0));
    const g = hostEigenvalues(ref.G[l], ref.dG[l]).map((v) => Math.max(v, 0));
    const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;
    const pi = Math.sqrt(mean(a) / mean(g));
    const max = (v: Float64Array) => Math.max(...v);
    const min = (v: Float64Array) => Math.min(...v);
    return {
      state,
      layer: name,
      dA: ref.dA[l],
      dG: ref.dG[l],
      aMax: max(a),
      aMin: min(a),
      gMax: max(g),
      gMin: min(g),
      perDamping: DAMPINGS.map((damping) => {
        const sa = pi * Math.sqrt(damping);
        const sg = Math.sqrt(damping) / pi;
        let above = 0;
        for (const x of a) for (const y of g) if (x * y > damping) above++;
        return {
          damping,
          condA: (max(a) + sa) / (min(a) + sa),
          condG: (max(g) + sg) / (min(g) + sg),
          shareAbove: above / (a.length * g.length),
        };
      }),
    };
  });
  return { noise, spectrum, fitMs };
}

// ---- 3. what the fallback optimizer trains ----------------------------------------------------------

interface Coverage {
  layers: string[];
  uncovered: { name: string; size: number }[];
  parameterShare: number;
  /** ‖g_uncovered‖² / ‖g‖² on one batch, and ‖Δθ_uncovered‖² / ‖Δθ‖² of one K-FAC step (at steps 20 and 60). */
  gradientShare: number;
  updateShare: { step: number; share: number }[];
}

async function coverage(
  placed: PlacedTask,
  tuned: RaceTuned,
  layerNames: string[],
  schedule: Record<string, ParamValue>,
): Promise<Coverage> {
  const model = placed.buildModel(1);
  const params = model.parameters();
  const covered = (name: string) => layerNames.some((l) => name === `${l}.weight` || name === `${l}.bias`);
  const uncovered = params.filter((p) => !covered(p.name)).map((p) => ({ name: p.name, size: p.variable.value.size }));
  const total = params.reduce((s, p) => s + p.variable.value.size, 0);
  const rows = (s: number) => Int32Array.from({ length: 64 }, (_, i) => (s * 64 + i) % 4096);
  const read = async () => Promise.all(params.map(async (p) => Float64Array.from((await p.variable.value.read()) as ArrayLike<number>)));
  const sq = (v: Float64Array) => dot(v, v);
  // Gradient share at initialisation.
  const b0 = placed.batch(model, rows(0));
  const grads = grad(
    computeLoss(b0.loss.spec, b0.forward(), b0.loss.targets),
    params.map((p) => p.variable),
  );
  const g2 = await Promise.all(grads.map(async (g) => sq(Float64Array.from((await readAndDispose(g)) as ArrayLike<number>))));
  b0.dispose();
  const gradientShare = params.reduce((s, p, i) => s + (covered(p.name) ? 0 : g2[i]), 0) / g2.reduce((s, x) => s + x, 0);
  const opt = createOptimizer(
    'kfac-reduce',
    { lr: tuned.lr, damping: tuned.damping, klClip: 0, fallbackLr: tuned.adamLr },
    { seed: 1, schedule: schedule as never },
  );
  const updateShare: { step: number; share: number }[] = [];
  for (let step = 0; step <= 60; step++) {
    const before = step === 20 || step === 60 ? await read() : null;
    const b = placed.batch(model, rows(step));
    const out = await opt.trainStep({ params, forward: b.forward, loss: b.loss, step });
    await readAndDispose(out.loss);
    b.dispose();
    if (before) {
      const after = await read();
      const d2 = after.map((a, i) => sq(a.map((v, j) => v - before[i][j])));
      updateShare.push({ step, share: params.reduce((s, p, i) => s + (covered(p.name) ? 0 : d2[i]), 0) / d2.reduce((s, x) => s + x, 0) });
    }
  }
  opt.dispose?.();
  return {
    layers: layerNames,
    uncovered,
    parameterShare: uncovered.reduce((s, u) => s + u.size, 0) / total,
    gradientShare,
    updateShare,
  };
}

/** Per step of one run: each layer group's share of ‖Δθ‖² and its ‖Δθ‖ / ‖g‖ (the step per unit gradient). */
interface ShareRow {
  config: string;
  step: number;
  groups: { group: string; updateShare: number; gradShare: number; stepPerGrad: number }[];
}

/**
 * Where the K-FAC step goes, by layer group (fallback parameters; attention keys, whose reduce-setting G
 * is zero: Σ_t ∂L/∂k_t = 0 because a softmax ignores a shift shared by every key; the other K-FAC layers),
 * for the race's values and for a small λ with the lr the race’s trials favoured there.
 */
async function layerShares(
  placed: PlacedTask,
  tuned: RaceTuned,
  layerNames: string[],
  schedule: Record<string, ParamValue>,
): Promise<ShareRow[]> {
  const configs: [string, Record<string, ParamValue>][] = [
    [`race values (λ ${tuned.damping}, lr ${tuned.lr})`, { lr: tuned.lr, damping: tuned.damping }],
    ['λ 0.01, lr 0.003', { lr: 0.003, damping: 0.01 }],
    ['λ 0.001, lr 0.00095', { lr: 0.00095, damping: 0.001 }],
  ];
  const out: ShareRow[] = [];
  const rows = (s: number) => Int32Array.from({ length: 64 }, (_, i) => (s * 64 + i) % 4096);
  const layerOf = (name: string) => layerNames.find((l) => name === `${l}.weight` || name === `${l}.bias`);
  const groupOf = (name: string) => {
    const l = layerOf(name);
    return l === undefined ? 'fallback (LayerNorm, position)' : /\.attn\.k$/.test(l) ? 'attention keys (attn.k)' : 'other K-FAC layers';
  };
  const sq = (v: ArrayLike<number>) => {
    let a = 0;
    for (let i = 0; i < v.length; i++) a += v[i] * v[i];
    return a;
  };
  for (const [label, hyper] of configs) {
    const model = placed.buildModel(1);
    const params = model.parameters();
    const opt = createOptimizer('kfac-reduce', { ...hyper, klClip: 0, fallbackLr: tuned.adamLr }, { seed: 1, schedule: schedule as never });
    for (let step = 0; step <= 60; step++) {
      const probe = step === 20 || step === 60;
      const b = placed.batch(model, rows(step));
      let g2: number[] = [];
      let before: Float64Array[] = [];
      if (probe) {
        before = await Promise.all(params.map(async (p) => Float64Array.from((await p.variable.value.read()) as ArrayLike<number>)));
        const grads = grad(
          computeLoss(b.loss.spec, b.forward(), b.loss.targets),
          params.map((p) => p.variable),
        );
        g2 = await Promise.all(grads.map(async (g) => sq((await readAndDispose(g)) as ArrayLike<number>)));
      }
      const res = await opt.trainStep({ params, forward: b.forward, loss: b.loss, step });
      await readAndDispose(res.loss);
      b.dispose();
      if (probe) {
        const d2 = await Promise.all(
          params.map(async (p, i) => sq(((await p.variable.value.read()) as Float32Array).map((v, j) => v - before[i][j]))),
        );
        const totalD = d2.reduce((a, x) => a + x, 0);
        const totalG = g2.reduce((a, x) => a + x, 0);
        const names = [...new Set(params.map((p) => groupOf(p.name)))];
        out.push({
          config: label,
          step,
          groups: names.map((group) => {
            const idx = params.map((p, i) => (groupOf(p.name) === group ? i : -1)).filter((i) => i >= 0);
            const d = idx.reduce((a, i) => a + d2[i], 0);
            const g = idx.reduce((a, i) => a + g2[i], 0);
            return { group, updateShare: d / totalD, gradShare: g / totalG, stepPerGrad: Math.sqrt(d / g) };
          }),
        });
      }
    }
    opt.dispose?.();
  }
  return out;
}

// ---- 4. training cells ------------------------------------------------------------------------------

async function runCells(
  backend: Backend,
  plan: TaskPlan,
  cells: Cell[],
  groups: string[],
  seeds: number[],
  maxSteps: number,
  adamLr: number,
  budgetS: number,
): Promise<{ results: CellResult[]; skipped: string[]; seconds: number }> {
  const t0 = performance.now();
  const results: CellResult[] = [];
  const skipped: string[] = [];
  for (const group of groups) {
    const members = cells.filter((c) => c.group === group);
    for (let c = 0; c < members.length; c += 8) {
      const chunk = members.slice(c, c + 8);
      const rows = chunk.map((cell) => ({
        ...cell,
        steps: [] as (number | null)[],
        median: null as number | null,
        msPerStep: [] as number[],
        errors: [] as string[],
      }));
      const entries: OptimizerEntry[] = chunk.map((cell) => {
        const base = baseEntry(cell.optimizer, plan, cell.optimizer === 'adam' ? null : adamLr);
        return { ...base, label: cell.label, hyper: { ...base.hyper, ...cell.hyper } };
      });
      let done = 0;
      for (const seed of seeds) {
        const elapsed = (performance.now() - t0) / 1000;
        if (elapsed > budgetS) break;
        const config = { ...configOf(plan, seed, entries, maxSteps), batchSize: chunk[0].batchSize };
        const r = await runExperiment(backend, config, { stopAtTarget: true, phaseTiming: false, denseEval: plan.dense });
        r.runs.forEach((run, i) => {
          rows[i].steps.push(run.stepsToTarget);
          rows[i].msPerStep.push((run.history.timeMs.at(-1) ?? 0) / Math.max(1, run.stepsCompleted));
          if (run.error) rows[i].errors.push(`seed ${seed}: ${run.error.slice(0, 100)}`);
        });
        done++;
        console.log(
          `  ${group} seed ${seed}: ${r.runs.map((x) => `${x.label} ${x.stepsToTarget ?? `>${maxSteps}`}`).join('; ')} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
        );
      }
      if (done < seeds.length) skipped.push(...chunk.map((x) => `${x.label} (${done}/${seeds.length} seeds within the budget)`));
      if (done === 0) continue;
      for (const row of rows) row.median = medianSteps(row.steps);
      results.push(...rows);
    }
  }
  return { results, skipped, seconds: (performance.now() - t0) / 1000 };
}

// ---- report -----------------------------------------------------------------------------------------

interface Saved {
  device: LabDevice;
  machine: string;
  started: string;
  command: string;
  tuned: RaceTuned;
  protocol: {
    task: string;
    target: number;
    scheduleSteps: number;
    maxSteps: number;
    warmupSteps: number;
    batchSize: number;
    seeds: number[];
    mcSamples: number;
  };
  stepCosts: StepCost[];
  noise: NoiseRow[];
  spectrum: SpectrumRow[];
  fitMs: Record<string, number>;
  coverage: Coverage;
  shares?: ShareRow[];
  cells: CellResult[];
  skipped: string[];
  seconds: { measure: number; cells: number };
  loadAverage: number[];
}

const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
const stepsText = (c: CellResult, max: number) => `${c.median ?? `>${max}`} (${c.steps.map((s) => s ?? `>${max}`).join(' / ')})`;

function report(s: Saved): string {
  const max = s.protocol.maxSteps;
  const lines = [
    '# Why K-FAC does not beat Adam on the tiny ViT: an ablation',
    '',
    `Device: ${s.device.summary} (backend: ${s.device.backend}) on ${s.machine}. Run ${s.started} with \`${s.command}\` (measurements ${s.seconds.measure.toFixed(0)} s, training cells ${s.seconds.cells.toFixed(0)} s; load average then ${s.loadAverage.join(', ')}).`,
    '',
    `Protocol: the race’s (bench/reproduce.ts, imported): ${s.protocol.task}, K-FAC-reduce, target validation accuracy ≥ ${s.protocol.target}, warm-up ${s.protocol.warmupSteps} steps then cosine to 0 at step ${s.protocol.scheduleSteps}, KL clip off, fallback Adam lr ${s.tuned.adamLr}, batch ${s.protocol.batchSize}, dense evaluation; runs stop at the target or at step ${max} (a cell beyond ${max} is ≥ ${((max / 106) * 100 - 100).toFixed(0)} % slower than the race’s Adam median of 106). Race-tuned K-FAC-reduce (${RACE_JSON}): lr ${s.tuned.lr}, λ ${s.tuned.damping}, MC 1 sample, ε 0.95. Steps: median over seeds ${s.protocol.seeds.join(', ')} (a miss counts as beyond every hit), then each seed’s value.`,
    '',
    '## Cost per step (batch 64, T_inv 10, T_cov 1)',
    '',
    'Two interleaved blocks of 10 steps per variant after 10 untimed ones, on a VM shared with other jobs: a short, noisy sample (the ms / step column of the cells below covers whole runs, but each experiment saw its own load).',
    '',
    '| variant | ms / step | × Adam |',
    '|---|---:|---:|',
    ...s.stepCosts.map((c) => `| ${c.label} | ${c.msPerStep.toFixed(1)} | ${c.ratio.toFixed(2)} |`),
    '',
    `Factor fit of one batch (fitCurvature, median ms): ${Object.entries(s.fitMs)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join('; ')}.`,
    '',
    '## Factor noise',
    '',
    'Relative Frobenius distance ‖X − R‖_F / ‖R‖_F of one batch’s factors from the type-2 factors over the reference set (mean over the layers, median over the draws).',
    '',
    '| model | estimate | batch | A | G | A ⊗ G |',
    '|---|---|---:|---:|---:|---:|',
    ...s.noise.map((n) => `| ${n.state} | ${n.estimate} | ${n.batch} | ${pct(n.A)} | ${pct(n.G)} | ${pct(n.AG)} |`),
    '',
    '## The reference factors against the damping',
    '',
    'π-damping adds π√λ to A and √λ/π to G. Per layer: condition numbers of the damped factors and the share of Kronecker eigenvalues a_i·g_j above λ (where the curvature, not λ, shapes the step).',
    '',
    `| model | layer | A (d) range | G (d) range | ${DAMPINGS.map((d) => `λ=${d}: cond A / cond G / share > λ`).join(' | ')} |`,
    `|---|---|---|---|${DAMPINGS.map(() => '---').join('|')}|`,
    ...s.spectrum.map(
      (r) =>
        `| ${r.state} | ${r.layer} | (${r.dA}) ${r.aMin.toExponential(1)}–${r.aMax.toExponential(1)} | (${r.dG}) ${r.gMin.toExponential(1)}–${r.gMax.toExponential(1)} | ${r.perDamping
          .map((p) => `${p.condA.toExponential(1)} / ${p.condG.toExponential(1)} / ${pct(p.shareAbove)}`)
          .join(' | ')} |`,
    ),
    '',
    '## What the fallback optimizer trains',
    '',
    `K-FAC layers (${s.coverage.layers.length}): ${s.coverage.layers.join(', ')}. Not covered (fallback Adam): ${s.coverage.uncovered.map((u) => `${u.name} (${u.size})`).join(', ')} — ${pct(s.coverage.parameterShare)} of the parameters, ${pct(s.coverage.gradientShare)} of ‖g‖² at initialisation, ${s.coverage.updateShare.map((u) => `${pct(u.share)} of ‖Δθ‖² at step ${u.step}`).join(', ')} (race-tuned K-FAC-reduce, seed 1).`,
    '',
    ...(s.shares
      ? [
          'Where the step goes (K-FAC-reduce from the same initial weights and batches, seed 1): each layer group’s share of ‖Δθ‖² and of ‖g‖², and ‖Δθ‖ / ‖g‖ (the step per unit of gradient). In the reduce setting the attention keys’ G is zero (Σ_t ∂L/∂k_t = 0: a softmax ignores a shift shared by all keys; G ≈ 1e-17 above), so π-damping turns their step into (roughly) the gradient times η/λ.',
          '',
          '| run | step | group | share of ‖Δθ‖² | share of ‖g‖² | ‖Δθ‖ / ‖g‖ |',
          '|---|---:|---|---:|---:|---:|',
          ...s.shares.flatMap((r) =>
            r.groups.map(
              (g) =>
                `| ${r.config} | ${r.step} | ${g.group} | ${pct(g.updateShare)} | ${pct(g.gradShare)} | ${g.stepPerGrad.toPrecision(2)} |`,
            ),
          ),
          '',
        ]
      : []),
    '## Steps to the target',
    '',
    '| cell | changed | steps (median; per seed) | ms / step |',
    '|---|---|---:|---:|',
    ...s.cells.map(
      (c) =>
        `| ${c.label}${c.batchSize !== 64 ? `, batch ${c.batchSize}` : ''} | ${c.change} | ${stepsText(c, max)} | ${(median(c.msPerStep) ?? 0).toFixed(1)} |`,
    ),
    '',
  ];
  const byGroup = (g: string) => s.cells.filter((c) => c.group === g);
  const best = (g: string) => [...byGroup(g)].sort((a, b) => (a.median ?? Infinity) - (b.median ?? Infinity))[0];
  const summary = ['mc1', 'type2', 'mck']
    .map((g) => best(g))
    .filter((c): c is CellResult => !!c)
    .map((c) => `${c.label}: ${stepsText(c, max)}`);
  if (summary.length) lines.push(`Best cell per Fisher type: ${summary.join('; ')}.`, '');
  const errs = s.cells.flatMap((c) => c.errors.map((e) => `- ${c.label}, ${e}`));
  if (errs.length) lines.push('Failures:', '', ...errs, '');
  if (s.skipped.length) lines.push(`Not run (wall-clock budget): ${s.skipped.join('; ')}.`, '');
  return lines.join('\n');
}

export async function runKfacAblationBench(args: string[]): Promise<void> {
  const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const paths = { json: 'bench/results/kfac-ablation.json', md: 'bench/results/kfac-ablation.md' };
  if (args.includes('--report-only')) {
    writeFileSync(paths.md, report(JSON.parse(readFileSync(paths.json, 'utf8')) as Saved));
    return;
  }
  if (args.includes('--shares-only')) {
    // Adds the step-share measurement to a finished run's JSON (same device required).
    const saved = JSON.parse(readFileSync(paths.json, 'utf8')) as Saved;
    const backend = await createBackend({ prefer: saved.device.backend as 'wasm' });
    if (deviceOf(backend).summary !== saved.device.summary)
      throw new Error(`--shares-only: ${paths.json} was measured on ${saved.device.summary}`);
    const plan = PLANS.find((p) => p.task === TASK)!;
    const placed = (await loadTask(TASK)).place(backend);
    saved.shares = await layerShares(placed, saved.tuned, saved.coverage.layers, {
      kind: 'cosine',
      warmupSteps: plan.warmupSteps,
      totalSteps: plan.steps,
      finalFraction: 0,
    });
    saved.command += ' (then: npm run bench -- kfac-ablation --shares-only)';
    placed.dispose();
    backend.destroy();
    writeFileSync(paths.json, `${JSON.stringify(saved, null, 2)}\n`);
    writeFileSync(paths.md, report(saved));
    console.log(report(saved));
    return;
  }
  if (args.includes('--add-cells')) {
    // More cells or seeds into a finished run's JSON (same device, same protocol): e.g. a group or seed
    // the wall-clock budget left out, or one more lr multiple where a winner sat on the lr grid's edge.
    const saved = JSON.parse(readFileSync(paths.json, 'utf8')) as Saved;
    const backend = await createBackend({ prefer: saved.device.backend as 'wasm' });
    if (deviceOf(backend).summary !== saved.device.summary)
      throw new Error(`--add-cells: ${paths.json} was measured on ${saved.device.summary}`);
    const plan = PLANS.find((p) => p.task === TASK)!;
    const seeds = (flag('--seeds') ?? saved.protocol.seeds.join(',')).split(',').map(Number);
    const lrMults = (flag('--lr-mults') ?? LR_PER_ROOT_DAMPING.join(',')).split(',').map(Number);
    const dampings = (flag('--dampings') ?? DAMPINGS.join(',')).split(',').map(Number);
    const groups = (flag('--groups') ?? 'mck').split(',');
    const cells = cellsOf(saved.tuned, saved.protocol.mcSamples, saved.protocol.batchSize, lrMults, dampings);
    const run = await runCells(
      backend,
      plan,
      cells,
      groups,
      seeds,
      saved.protocol.maxSteps,
      saved.tuned.adamLr,
      Number(flag('--budget-s') ?? 600),
    );
    for (const c of run.results) {
      const old = saved.cells.find((x) => x.label === c.label && x.batchSize === c.batchSize);
      if (old) {
        old.steps.push(...c.steps);
        old.msPerStep.push(...c.msPerStep);
        old.errors.push(...c.errors);
        old.median = medianSteps(old.steps);
      } else saved.cells.push(c);
    }
    const complete = new Set(saved.cells.filter((c) => c.steps.length >= saved.protocol.seeds.length).map((c) => c.label));
    saved.skipped = [...saved.skipped.filter((x) => ![...complete].some((l) => x.startsWith(`${l} (`))), ...run.skipped];
    saved.seconds.cells += run.seconds;
    saved.command += ` (then: npm run bench -- kfac-ablation ${args.join(' ')})`;
    backend.destroy();
    writeFileSync(paths.json, `${JSON.stringify(saved, null, 2)}\n`);
    writeFileSync(paths.md, report(saved));
    console.log(report(saved));
    return;
  }
  const which = flag('--backend') ?? 'wasm';
  if (which !== 'wasm' && which !== 'cpu' && which !== 'webgpu') throw new Error(`--backend: expected wasm, cpu or webgpu, got ${which}`);
  const seeds = (flag('--seeds') ?? '1,2,3').split(',').map(Number);
  const maxSteps = Number(flag('--max-steps') ?? 150);
  const budgetS = Number(flag('--budget-s') ?? 760);
  const k = Number(flag('--mc-samples') ?? 4);
  const groups = (flag('--groups') ?? 'extras,mc1,type2,mck,batch32').split(',');
  const probe = args.includes('--probe');
  const plan = PLANS.find((p) => p.task === TASK);
  if (!plan) throw new Error(`bench/reproduce.ts has no plan for ${TASK}`);
  const tuned = raceTuned();
  const backend = await createBackend({ prefer: which, requireWebGPU: which === 'webgpu' });
  const device = deviceOf(backend);
  const started = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  console.log(`device: ${device.summary}; race-tuned K-FAC-reduce lr ${tuned.lr} λ ${tuned.damping}, Adam lr ${tuned.adamLr}`);
  const loaded = await loadTask(TASK);
  const placed = loaded.place(backend);
  const batch = TASKS[TASK].defaultBatchSize;
  const t0 = performance.now();

  const costs = await stepCosts(placed, tuned, k, batch);
  console.log('cost per step:', costs.map((c) => `${c.label} ${c.msPerStep.toFixed(1)} ms (${c.ratio.toFixed(2)}×)`).join('; '));

  const draws = probe ? 2 : 6;
  const refBatches = probe ? 4 : 16;
  const init = placed.buildModel(1);
  const a = await measureNoise(placed, init, 'initial', k, draws, refBatches);
  const trained = placed.buildModel(1);
  const pretrain = 60;
  await trainModel({
    model: trained,
    batch: (rows) => placed.batch(trained, rows),
    examples: loaded.trainSize,
    batchSize: batch,
    steps: pretrain,
    seed: 1,
    optimizer: 'adam',
    hyper: { lr: tuned.adamLr, beta1: tuned.adamBeta1 },
    schedule: { kind: 'cosine', warmupSteps: plan.warmupSteps, totalSteps: plan.steps, finalFraction: 0 } as never,
  });
  const b = await measureNoise(placed, trained, `Adam, ${pretrain} steps`, k, draws, refBatches);
  for (const n of [...a.noise, ...b.noise])
    console.log(`noise ${n.state} ${n.estimate} batch ${n.batch}: A ${pct(n.A)} G ${pct(n.G)} A⊗G ${pct(n.AG)}`);
  const layerNames = [...new Set(a.spectrum.map((r) => r.layer))];
  const cov = await coverage(placed, tuned, layerNames, {
    kind: 'cosine',
    warmupSteps: plan.warmupSteps,
    totalSteps: plan.steps,
    finalFraction: 0,
  });
  console.log(
    `fallback covers ${cov.uncovered.length} tensors, ${pct(cov.parameterShare)} of parameters, ${pct(cov.gradientShare)} of ‖g‖², update share ${cov.updateShare.map((u) => pct(u.share)).join(', ')}`,
  );
  const measureS = (performance.now() - t0) / 1000;
  placed.dispose();

  const cells = cellsOf(tuned, k, batch);
  const run = await runCells(backend, plan, cells, probe ? [] : groups, seeds, maxSteps, tuned.adamLr, budgetS);
  const saved: Saved = {
    device,
    machine: `${cpus()[0]?.model.trim() ?? 'unknown CPU'} × ${cpus().length} cores, Node ${process.version}`,
    started,
    command: `npm run bench -- kfac-ablation ${args.join(' ')}`.trim(),
    tuned,
    protocol: {
      task: TASK,
      target: plan.target,
      scheduleSteps: plan.steps,
      maxSteps,
      warmupSteps: plan.warmupSteps,
      batchSize: batch,
      seeds,
      mcSamples: k,
    },
    stepCosts: costs,
    noise: [...a.noise, ...b.noise],
    spectrum: [...a.spectrum, ...b.spectrum],
    fitMs: { ...a.fitMs },
    coverage: cov,
    cells: run.results,
    skipped: run.skipped,
    seconds: { measure: measureS, cells: run.seconds },
    loadAverage: loadavg().map((x) => Math.round(x * 10) / 10),
  };
  const md = report(saved);
  if (!probe) {
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(paths.json, `${JSON.stringify(saved, null, 2)}\n`);
    writeFileSync(paths.md, md);
  }
  console.log(`\n${md}`);
  backend.destroy();
}
