// `npm run -s edit -- --experiment noisy-mnist|modular-exceptions --rho 0.5,0.6,...,1 [--layers 2,3]
// [--json]`: the memorisation experiment of docs/curvature-tools.md §4 from the command line. Trains
// the experiment's model (src/engine/memorisation/), fits K-FAC with the true Fisher over the
// training set, edits the chosen layers at every ρ with the pairwise K-FAC edit, the rectangle
// variant and the truncated SVD at equal rank, and prints the four accuracies after each edit.
// Exit codes: 0 success, 2 bad arguments (the message names the flag), 1 failure while computing.
import { createBackend } from '../engine/backend/create-backend.ts';
import { EXPERIMENT_IDS, EXPERIMENTS, isExperimentId, type ExperimentId } from '../engine/memorisation/experiments.ts';
import { DEFAULT_RHOS, runEditSweep, type SweepResult } from '../engine/memorisation/sweep.ts';
import { EDIT_METHODS, type EditMethod } from '../engine/tools/edit/edit.ts';
import { failWith, writeStdout, type Fail } from './case-io.ts';

const USAGE = `usage: npm run -s edit -- --experiment ${EXPERIMENT_IDS.join('|')} [options]

Trains the experiment's model, fits K-FAC (true Fisher, bias separate) over its training set, edits
the chosen layers at each keep-mass ρ and prints the four accuracies after each edit: memorised
examples against their memorised and their true label, clean training examples, test examples.

Options:
  --experiment id     ${EXPERIMENT_IDS.map((id) => `${id} (${EXPERIMENTS[id].title})`).join('; ')}
  --rho list          keep-mass values in (0, 1], comma-separated (default ${DEFAULT_RHOS.join(',')}; ρ = 1 is the unedited model)
  --layers list       K-FAC layer positions to edit (default: the experiment's; noisy-mnist ${EXPERIMENTS['noisy-mnist'].layerNames.map((n, i) => `${i} ${n}`).join(', ')}; modular-exceptions ${EXPERIMENTS['modular-exceptions'].layerNames.map((n, i) => `${i} ${n}`).join(', ')})
  --methods list      ${EDIT_METHODS.join(',')} (default all: the K-FAC pairwise edit, the rectangle variant, truncated SVD at the pairwise edit's rank)
  --seed n            seeds the model, the batch order and the Fisher's sampled labels (default 1)
  --steps n           training steps (default: the experiment's recipe)
  --backend b         wasm (default), cpu or webgpu
  --json              print the whole result as JSON (rows, per-layer spectra and band diagnostics)`;

export interface EditArgs {
  experiment: ExperimentId;
  rhos: number[];
  layers: number[] | null;
  methods: EditMethod[];
  seed: number;
  steps: number | null;
  backend: 'wasm' | 'cpu' | 'webgpu';
  json: boolean;
}

/** Parse the command's arguments; `fail` exits 2 with a message naming the flag. */
export function parseEditArgs(argv: readonly string[], fail: Fail): EditArgs | 'help' {
  const out: Partial<EditArgs> = { json: false };
  const list = (flag: string, v: string, parse: (s: string) => number) =>
    v.split(',').map((s) => {
      const x = parse(s.trim());
      if (!Number.isFinite(x)) fail(`${flag}: "${s}" is not a number`, 2);
      return x;
    });
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') return 'help';
    if (flag === '--json') {
      out.json = true;
      continue;
    }
    const value = argv[i + 1];
    const known = ['--experiment', '--rho', '--layers', '--methods', '--seed', '--steps', '--backend'];
    if (!known.includes(flag)) fail(`unknown argument "${flag}"\n\n${USAGE}`, 2);
    if (value === undefined || value.startsWith('--')) fail(`${flag}: expected a value`, 2);
    i++;
    switch (flag) {
      case '--experiment':
        if (!isExperimentId(value)) fail(`--experiment: expected ${EXPERIMENT_IDS.join(' or ')}, got "${value}"`, 2);
        out.experiment = value;
        break;
      case '--rho':
        out.rhos = list(flag, value, Number);
        for (const r of out.rhos) if (!(r > 0 && r <= 1)) fail(`--rho: every ρ must be in (0, 1], got ${r}`, 2);
        break;
      case '--layers':
        out.layers = list(flag, value, Number);
        for (const l of out.layers)
          if (!Number.isInteger(l) || l < 0) fail(`--layers: expected K-FAC layer positions (whole numbers ≥ 0), got ${l}`, 2);
        break;
      case '--methods': {
        const m = value.split(',').map((s) => s.trim());
        for (const x of m)
          if (!(EDIT_METHODS as readonly string[]).includes(x))
            fail(`--methods: expected some of ${EDIT_METHODS.join(', ')}, got "${x}"`, 2);
        out.methods = m as EditMethod[];
        break;
      }
      case '--seed':
      case '--steps': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < (flag === '--seed' ? 0 : 1))
          fail(`${flag}: expected a whole number${flag === '--steps' ? ' ≥ 1' : ' ≥ 0'}, got "${value}"`, 2);
        if (flag === '--seed') out.seed = n;
        else out.steps = n;
        break;
      }
      case '--backend':
        if (value !== 'wasm' && value !== 'cpu' && value !== 'webgpu') fail(`--backend: expected wasm, cpu or webgpu, got "${value}"`, 2);
        out.backend = value;
        break;
    }
  }
  if (!out.experiment) fail(`--experiment is required\n\n${USAGE}`, 2);
  const experiment = out.experiment;
  const count = EXPERIMENTS[experiment].layerNames.length;
  for (const l of out.layers ?? [])
    if (l >= count)
      fail(`--layers: ${experiment} has K-FAC layers 0–${count - 1} (${EXPERIMENTS[experiment].layerNames.join(', ')}), got ${l}`, 2);
  return {
    experiment,
    rhos: out.rhos ?? [...DEFAULT_RHOS],
    layers: out.layers ?? null,
    methods: out.methods ?? [...EDIT_METHODS],
    seed: out.seed ?? 1,
    steps: out.steps ?? null,
    backend: out.backend ?? 'wasm',
    json: out.json ?? false,
  };
}

/** The result as a plain-text table. */
export function formatSweep(r: SweepResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(7);
  const lines = [
    `${r.experiment}, seed ${r.seed}: edited ${r.layers.map((l) => `${l.name} [${l.dOut}×${l.dIn}]`).join(', ')}`,
    `trained in ${r.trainMs === null ? '—' : `${(r.trainMs / 1000).toFixed(1)} s`}, K-FAC fit ${(r.fitMs / 1000).toFixed(1)} s, edits and evaluations ${(r.editMs / 1000).toFixed(1)} s`,
    '',
    'method     ρ          rank   kept pairs   memorised  mem.(true)  clean train  test',
  ];
  for (const row of r.rows)
    lines.push(
      `${row.method.padEnd(10)} ${String(row.rho).padEnd(9)} ${String(row.keptRank).padStart(5)}  ${`${row.keptPairs}/${row.totalPairs}`.padStart(11)}  ${pct(row.memorisedAccuracy)}    ${pct(row.memorisedTrueLabelAccuracy)}     ${pct(row.cleanTrainAccuracy)}  ${pct(row.testAccuracy)}`,
    );
  return lines.join('\n');
}

const fail: Fail = failWith('edit');

async function main(argv: string[]): Promise<void> {
  const args = parseEditArgs(argv, fail);
  if (args === 'help') {
    await writeStdout(`${USAGE}\n`);
    return;
  }
  const backend = await createBackend({ prefer: args.backend });
  try {
    const result = await runEditSweep({
      experiment: args.experiment,
      backend,
      seed: args.seed,
      rhos: args.rhos,
      layers: args.layers ?? undefined,
      methods: args.methods,
      steps: args.steps ?? undefined,
      onProgress: (p) => {
        if (!args.json && process.stderr.isTTY) process.stderr.write(`\r${p.stage} ${p.done}/${p.total}   `);
      },
    });
    if (!args.json && process.stderr.isTTY) process.stderr.write('\n');
    await writeStdout(`${args.json ? JSON.stringify({ device: backend.name, ...result }, null, 1) : formatSweep(result)}\n`);
  } catch (e) {
    if (e instanceof Error && /no K-FAC layer/.test(e.message)) fail(e.message, 2);
    throw e;
  } finally {
    backend.destroy();
  }
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  fail((e as Error).stack ?? String(e), 1);
}
// Dawn's event loop hooks can keep Node alive after the device is destroyed.
process.exit(0);
