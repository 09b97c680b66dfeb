// End-to-end speed of the CPU-side backends: time per training step of every task's preset (all
// its optimizers, same weights and batches) on the reference CPU backend and on the WASM backend,
// in one process, plus the ViT preset at batch 64. A run's time per step is the median of its steps
// after the first (warm-up: data upload, first compilation), from the runner's own step timing
// (evaluation excluded), after an untimed warm-up pass on WASM. Usage: npm run bench -- steps [--steps n]. Writes bench/results/preset-steps.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Backend } from '../src/engine/backend/backend.ts';
import { CpuBackend } from '../src/engine/backend/cpu/cpu-backend.ts';
import { WasmBackend } from '../src/engine/backend/wasm/wasm-backend.ts';
import { presetConfig } from '../src/engine/lab/presets.ts';
import { runExperiment } from '../src/engine/lab/experiment.ts';
import type { ExperimentConfig } from '../src/engine/lab/experiment-config.ts';
import { TASK_IDS } from '../src/engine/lab/tasks.ts';

export interface PresetStepRow {
  case: string;
  optimizer: string;
  cpuMsPerStep: number;
  wasmMsPerStep: number;
  speedup: number;
}

async function msPerStep(backend: Backend, config: ExperimentConfig): Promise<Map<string, number>> {
  const result = await runExperiment(backend, config, { phaseTiming: false });
  const out = new Map<string, number>();
  for (const run of result.runs) {
    const t = run.history.timeMs;
    if (run.error || t.length < 2) throw new Error(`${config.task} ${run.label}: ${run.error ?? 'too few steps'}`);
    // The median of the step times after the first: one preempted step (a busy machine) does not move it.
    const steps = t.slice(1).map((v, i) => v - t[i]);
    out.set(run.label, steps.sort((x, y) => x - y)[Math.floor(steps.length / 2)]);
  }
  return out;
}

export async function runPresetStepsBench(args: string[]): Promise<PresetStepRow[]> {
  const steps = args.includes('--steps') ? Number(args[args.indexOf('--steps') + 1]) : 6;
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`--steps: expected an integer ≥ 2, got ${steps}`);
  const cpu = new CpuBackend();
  const wasm = new WasmBackend();
  console.log(`reference: ${cpu.info.summary}; fast: ${wasm.info.summary}; ${steps} steps per run, the first not counted`);
  const cases: { name: string; config: ExperimentConfig }[] = TASK_IDS.map((task) => ({
    name: task,
    config: { ...presetConfig(task), steps, evalInterval: steps, target: null },
  }));
  cases.push({
    name: 'vit-mnist batch 64',
    config: { ...presetConfig('vit-mnist'), batchSize: 64, steps, evalInterval: steps, target: null },
  });
  // Untimed warm-up on WASM: the engine compiles hot WebAssembly functions a second time (optimised)
  // only after their first calls, which would otherwise be charged to the first task.
  for (const c of cases) await runExperiment(wasm, { ...c.config, steps: 2, evalInterval: 2 }, { phaseTiming: false });
  const rows: PresetStepRow[] = [];
  console.log('\n| case | optimizer | cpu ms/step | wasm ms/step | speed-up |');
  console.log('|:-----|:----------|------------:|-------------:|---------:|');
  for (const c of cases) {
    const onCpu = await msPerStep(cpu, c.config);
    const onWasm = await msPerStep(wasm, c.config);
    for (const [optimizer, cpuMs] of onCpu) {
      const wasmMs = onWasm.get(optimizer)!;
      const row = { case: c.name, optimizer, cpuMsPerStep: round(cpuMs), wasmMsPerStep: round(wasmMs), speedup: round(cpuMs / wasmMs) };
      rows.push(row);
      console.log(
        `| ${c.name} | ${optimizer} | ${row.cpuMsPerStep.toFixed(1)} | ${row.wasmMsPerStep.toFixed(1)} | ${row.speedup.toFixed(1)}× |`,
      );
    }
  }
  const out = {
    device: `${cpu.info.summary} vs ${wasm.info.summary}, Node ${process.version}`,
    date: new Date().toISOString(),
    steps,
    rows,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/preset-steps.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log('\nwrote bench/results/preset-steps.json');
  cpu.destroy();
  wasm.destroy();
  return rows;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
