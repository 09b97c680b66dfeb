// The memorisation-editing benchmark (docs/curvature-tools.md §4, after Merullo et al.): for both
// experiments (noisy-mnist, modular-exceptions) and 3 seeds, train the model, fit K-FAC with the
// true Fisher, and edit the experiment's default layers at every keep-mass ρ with the pairwise
// K-FAC edit, the rectangle variant and the truncated SVD at the pairwise edit's kept rank; record
// the four accuracies. The grid has the issue's coarse ρ = 0.5 … 0.9 and a fine grid near 1, where
// the K-FAC spectra here put almost all of their mass (see README, "Memorisation editing").
//
// Results: bench/results/edit.json (`rows` exactly as the issue names them, ρ = 1 the unedited model,
// plus per-run diagnostics) and bench/results/edit.md (mean tables and the goal check).
//
// Usage: npm run bench -- edit [--backend wasm|cpu|webgpu] [--seeds 1,2,3] [--experiments a,b]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createBackend } from '../src/engine/backend/create-backend.ts';
import { deviceOf, type LabDevice } from '../src/engine/lab/report.ts';
import { EXPERIMENT_IDS, EXPERIMENTS, isExperimentId, type ExperimentId } from '../src/engine/memorisation/experiments.ts';
import { runEditSweep, type SweepResult } from '../src/engine/memorisation/sweep.ts';
import type { EditMethod } from '../src/engine/tools/edit/edit.ts';

export const BENCH_RHOS = [0.5, 0.6, 0.7, 0.8, 0.9, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998, 0.9999, 0.99999, 1];

/** One row of bench/results/edit.json, exactly the issue's fields. */
export interface EditBenchRow {
  experiment: ExperimentId;
  method: EditMethod;
  rho: number;
  seed: number;
  keptRank: number;
  memorisedAccuracy: number;
  memorisedTrueLabelAccuracy: number;
  cleanTrainAccuracy: number;
  testAccuracy: number;
}

interface RunSummary {
  experiment: ExperimentId;
  seed: number;
  layers: string[];
  trainMs: number | null;
  fitMs: number;
  editMs: number;
  /** Per edited layer: each curvature band's share of ‖W‖² and activation strength of memorised / clean examples. */
  bands: { layer: string; levels: number[]; energyShare: number[]; memorised: number[]; clean: number[] }[];
}

function toRows(r: SweepResult): EditBenchRow[] {
  return r.rows.map((row) => ({
    experiment: r.experiment,
    method: row.method,
    rho: row.rho,
    seed: r.seed,
    keptRank: row.keptRank,
    memorisedAccuracy: row.memorisedAccuracy,
    memorisedTrueLabelAccuracy: row.memorisedTrueLabelAccuracy,
    cleanTrainAccuracy: row.cleanTrainAccuracy,
    testAccuracy: row.testAccuracy,
  }));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => (100 * x).toFixed(1);

/**
 * The goal of the issue, per run: the ρ < 1 at which the edit cuts memorised-label accuracy to at
 * most half the unedited model's while test accuracy drops by at most 2 points (the largest such ρ,
 * i.e. the gentlest edit that does it), or null.
 */
export function goalRho(rows: readonly EditBenchRow[], experiment: ExperimentId, method: EditMethod, seed: number): EditBenchRow | null {
  const mine = rows.filter((r) => r.experiment === experiment && r.method === method && r.seed === seed);
  const base = mine.find((r) => r.rho === 1);
  if (!base) return null;
  const ok = mine.filter(
    (r) => r.rho < 1 && r.memorisedAccuracy <= base.memorisedAccuracy / 2 && r.testAccuracy >= base.testAccuracy - 0.02,
  );
  return ok.sort((a, b) => b.rho - a.rho)[0] ?? null;
}

export function markdownReport(device: LabDevice, started: string, rows: readonly EditBenchRow[], runs: readonly RunSummary[]): string {
  const lines = [
    '# Memorisation editing in the K-FAC eigenbasis (`npm run bench -- edit`)',
    '',
    `Device: ${device.summary} (backend: ${device.backend}) on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}. Run ${started}.`,
    'K-FAC: true Fisher (one label sampled from the model per example), over the whole training set, bias separate and never edited.',
    'SVD: truncated SVD of each edited weight at the rank of the pairwise K-FAC edit at the same ρ (equal kept rank).',
    'Accuracies are means over the seeds (in %); ρ = 1 is the unedited model.',
    '',
  ];
  const experiments = [...new Set(rows.map((r) => r.experiment))];
  for (const experiment of experiments) {
    const def = EXPERIMENTS[experiment];
    const seeds = [...new Set(rows.filter((r) => r.experiment === experiment).map((r) => r.seed))];
    const mine = runs.filter((r) => r.experiment === experiment);
    lines.push(`## ${experiment}: ${def.title}`, '', def.description, '');
    lines.push(
      `Edited layers: ${mine[0]?.layers.join(', ')}. Seeds ${seeds.join(', ')}. Training ${def.training.steps} steps of ${def.training.optimizer} (${JSON.stringify(def.training.hyper)}), batch ${def.training.batchSize}: ${mine.map((r) => `${((r.trainMs ?? 0) / 1000).toFixed(0)} s`).join(', ')}.`,
      '',
      '| method | ρ | kept rank | memorised (memorised label) | memorised (true label) | clean train | test |',
      '|---|---|---|---|---|---|---|',
    );
    const rhos = [...new Set(rows.filter((r) => r.experiment === experiment).map((r) => r.rho))].sort((a, b) => a - b);
    for (const method of ['kfac', 'rectangle', 'svd'] as const)
      for (const rho of rhos) {
        const at = rows.filter((r) => r.experiment === experiment && r.method === method && r.rho === rho);
        if (at.length === 0) continue;
        lines.push(
          `| ${method} | ${rho} | ${mean(at.map((r) => r.keptRank)).toFixed(1)} | ${pct(mean(at.map((r) => r.memorisedAccuracy)))} | ${pct(mean(at.map((r) => r.memorisedTrueLabelAccuracy)))} | ${pct(mean(at.map((r) => r.cleanTrainAccuracy)))} | ${pct(mean(at.map((r) => r.testAccuracy)))} |`,
        );
      }
    lines.push(
      '',
      "Goal: a ρ < 1 where memorised-label accuracy is at most half the unedited model's and test accuracy drops by at most 2 points (largest such ρ per seed):",
      '',
    );
    for (const method of ['kfac', 'rectangle', 'svd'] as const) {
      const found = seeds.map((seed) => {
        const g = goalRho(rows, experiment, method, seed);
        const base = rows.find((r) => r.experiment === experiment && r.method === method && r.seed === seed && r.rho === 1)!;
        return g
          ? `seed ${seed}: ρ = ${g.rho} (rank ${g.keptRank}; memorised ${pct(base.memorisedAccuracy)} → ${pct(g.memorisedAccuracy)}%, test ${pct(base.testAccuracy)} → ${pct(g.testAccuracy)}%)`
          : `seed ${seed}: none`;
      });
      lines.push(`- ${method}: ${found.join('; ')}`);
    }
    lines.push(
      '',
      'Per curvature band (first seed; bands from the highest-curvature pairs, cut at the ρ grid; last = removed at every ρ < 1): share of ‖W‖², and mean activation strength ‖(C ⊙ M_band) Q_Aᵀ a‖² of memorised / clean examples.',
      '',
    );
    for (const b of mine[0]?.bands ?? []) {
      lines.push(
        `${b.layer}:`,
        '',
        `| band (ρ up to) | ${[...b.levels.map(String), 'rest'].join(' | ')} |`,
        `|---|${b.levels.map(() => '---|').join('')}---|`,
      );
      lines.push(`| energy share (%) | ${b.energyShare.map(pct).join(' | ')} |`);
      lines.push(
        `| memorised / clean activation | ${b.memorised.map((m, k) => (b.clean[k] > 0 ? (m / b.clean[k]).toFixed(2) : '—')).join(' | ')} |`,
        '',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function parseArgs(args: string[]): { backend: 'wasm' | 'cpu' | 'webgpu'; seeds: number[]; experiments: ExperimentId[] } {
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const backend = value('--backend') ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu' && backend !== 'webgpu')
    throw new Error(`--backend: expected wasm, cpu or webgpu, got ${backend}`);
  const seeds = (value('--seeds') ?? '1,2,3').split(',').map(Number);
  const experiments = (value('--experiments') ?? EXPERIMENT_IDS.join(',')).split(',');
  for (const e of experiments) if (!isExperimentId(e)) throw new Error(`--experiments: unknown experiment ${e}`);
  return { backend, seeds, experiments: experiments as ExperimentId[] };
}

export async function runEditBench(args: string[]): Promise<void> {
  const { backend: prefer, seeds, experiments } = parseArgs(args);
  const backend = await createBackend({ prefer });
  const device = deviceOf(backend);
  const started = new Date().toISOString();
  console.log(`device: ${device.summary}`);
  const rows: EditBenchRow[] = [];
  const runs: RunSummary[] = [];
  mkdirSync('bench/results', { recursive: true });
  try {
    for (const experiment of experiments) {
      for (const seed of seeds) {
        const t0 = performance.now();
        const r = await runEditSweep({ experiment, backend, seed, rhos: BENCH_RHOS });
        rows.push(...toRows(r));
        runs.push({
          experiment,
          seed,
          layers: r.layers.map((l) => l.name),
          trainMs: r.trainMs,
          fitMs: r.fitMs,
          editMs: r.editMs,
          bands: r.layers.map((l) => ({
            layer: l.name,
            levels: l.levels,
            energyShare: l.energyShare,
            memorised: l.activation.memorised,
            clean: l.activation.clean,
          })),
        });
        const base = r.baseline;
        console.log(
          `${experiment} seed ${seed}: ${((performance.now() - t0) / 1000).toFixed(0)} s; unedited memorised ${pct(base.memorisedAccuracy)}%, clean ${pct(base.cleanTrainAccuracy)}%, test ${pct(base.testAccuracy)}%`,
        );
        writeFileSync(
          'bench/results/edit.json',
          `${JSON.stringify({ device, started, command: `npm run bench -- edit ${args.join(' ')}`.trim(), rhos: BENCH_RHOS, rows, runs }, null, 1)}\n`,
        );
        writeFileSync('bench/results/edit.md', markdownReport(device, started, rows, runs));
      }
    }
  } finally {
    backend.destroy();
  }
  console.log(`\n${markdownReport(device, started, rows, runs)}`);
}
