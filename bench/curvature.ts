// The curvature toolkit's cost (docs/curvature-tools.md §1) on the lab's ViT and CNN (MNIST): per
// backend and approximation, the time to fit the factors over 1,000 training examples (forward +
// backward passes included), to eigendecompose every layer's factors (lazily, as the tools do), and
// to compute EK-FAC's Λ; per layer, the factor math alone (expand vs reduce outer products over the
// captured rows, scaled to all batches) and its eigendecomposition time. Plus the device-vs-host
// eigh measurement behind DEVICE_EIGH_MAX (src/engine/curvature/kronecker.ts): time and accuracy of
// the WebGPU eigh against the float64 host solver (read back, decompose, upload) by size.
// Usage: npm run bench -- curvature [--backend cpu|webgpu|both] [--examples 1000] [--batch 250]
// [--tasks vit-mnist,cnn-mnist]. Fisher: MC with one sample (the optimizer's default; type-2 costs C
// times the backward passes). Writes bench/results/curvature.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { noGrad } from '../src/engine/autograd/variable.ts';
import type { Backend } from '../src/engine/backend/backend.ts';
import { createBackend } from '../src/engine/backend/create-backend.ts';
import { backPropagatedSeeds, runSeedPasses } from '../src/engine/curvature/factors.ts';
import { decomposeFactor } from '../src/engine/curvature/kronecker.ts';
import { fitCurvature, fitEkfac, taskData, type CurvatureBatch, type KfacApprox } from '../src/engine/curvature/toolkit.ts';
import { loadTask, type TaskId } from '../src/engine/lab/tasks.ts';
import { hostEigh } from '../src/engine/linalg/host-eigh.ts';
import { withCurvatureCapture, type KfacForwardCapture } from '../src/engine/nn/curvature-hook.ts';
import { Rng } from '../src/engine/random.ts';
import { keep, scope, type Tensor } from '../src/engine/tensor.ts';

interface LayerRow {
  name: string;
  dIn: number;
  dOut: number;
  /** Rows of one batch's input (N·R) and the examples N. */
  rows: number;
  examples: number;
  /** Factor math only (outer products, + the shared-dim reduction for reduce), all batches. */
  factorMs: Record<KfacApprox, number>;
  /** Eigendecomposition of A and G (after the expand fit) and which solver ran. */
  eighMs: number;
  solver: string;
}

interface ModelRow {
  task: TaskId;
  backend: string;
  device: string;
  examples: number;
  batchSize: number;
  fitMs: Record<KfacApprox, number>;
  eighMs: Record<KfacApprox, number>;
  lambdaMs: Record<KfacApprox, number>;
  layers: LayerRow[];
}

interface EighRow {
  n: number;
  deviceMs: number;
  hostMs: number;
  /** max |λ_device − λ_host| / max |λ| and ‖QᵀQ − I‖_max of the device eigenvectors. */
  valueError: number;
  orthogonality: number;
}

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

async function median(run: () => Promise<void>, reps = 3): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

export async function runCurvatureBench(args: string[]): Promise<void> {
  const which = option(args, '--backend', 'both');
  if (!['cpu', 'webgpu', 'both'].includes(which)) throw new Error(`--backend: expected cpu, webgpu or both, got ${which}`);
  const examples = Number(option(args, '--examples', '1000'));
  const batchSize = Number(option(args, '--batch', '250'));
  const tasks = option(args, '--tasks', 'vit-mnist,cnn-mnist').split(',') as TaskId[];
  const models: ModelRow[] = [];
  const eigh: { device: string; rows: EighRow[] }[] = [];
  for (const name of which === 'both' ? ['cpu', 'webgpu'] : [which]) {
    const backend = await createBackend({ prefer: name as 'cpu' | 'webgpu', requireWebGPU: name === 'webgpu' });
    console.log(`\ndevice: ${backend.info.summary}`);
    for (const task of tasks) models.push(await benchTask(backend, task, examples, batchSize));
    if (backend.name === 'webgpu') eigh.push({ device: backend.info.summary, rows: await eighComparison(backend) });
    backend.destroy();
  }
  mkdirSync('bench/results', { recursive: true });
  const out = { date: new Date().toISOString(), fisher: 'mc (1 sample)', models, eigh };
  writeFileSync('bench/results/curvature.json', JSON.stringify(out, null, 2) + '\n');
  console.log('\nwrote bench/results/curvature.json');
}

async function benchTask(backend: Backend, task: TaskId, examples: number, batchSize: number): Promise<ModelRow> {
  const loaded = await loadTask(task);
  const placed = loaded.place(backend);
  const model = placed.buildModel(1);
  const data = taskData(placed, model, { examples, batchSize });
  const row: ModelRow = {
    task,
    backend: backend.name,
    device: backend.info.summary,
    examples,
    batchSize,
    fitMs: { expand: 0, reduce: 0 },
    eighMs: { expand: 0, reduce: 0 },
    lambdaMs: { expand: 0, reduce: 0 },
    layers: [],
  };
  try {
    row.layers = await layerFactorTimes(
      backend,
      placed.batch(
        model,
        Int32Array.from({ length: batchSize }, (_, i) => i),
      ),
      data.batches,
    );
    for (const approx of ['expand', 'reduce'] as const) {
      let t0 = performance.now();
      const curvature = await fitCurvature(model, data, { approx, fisher: 'mc' });
      await backend.sync();
      row.fitMs[approx] = performance.now() - t0;
      try {
        for (const [k, layer] of curvature.layers.entries()) {
          t0 = performance.now();
          const e = await layer.eigen();
          await backend.sync();
          const ms = performance.now() - t0;
          row.eighMs[approx] += ms;
          if (approx === 'expand') Object.assign(row.layers[k], { eighMs: ms, solver: e.solver });
        }
        t0 = performance.now();
        const ekfac = await fitEkfac(curvature, model, data);
        await backend.sync();
        row.lambdaMs[approx] = performance.now() - t0;
        ekfac.dispose();
      } finally {
        curvature.dispose();
      }
    }
  } finally {
    model.dispose();
    placed.dispose();
  }
  const f = (x: number) => x.toFixed(0).padStart(8);
  console.log(`\n${task} on ${backend.name}: ${examples} examples in batches of ${batchSize} (ms)`);
  console.log('|        | fit      | eigh     | Λ        |');
  for (const a of ['expand', 'reduce'] as const)
    console.log(`| ${a.padEnd(6)} | ${f(row.fitMs[a])} | ${f(row.eighMs[a])} | ${f(row.lambdaMs[a])} |`);
  console.log('| layer | dIn | dOut | rows/batch | factor expand | factor reduce | eigh (solver) |');
  for (const l of row.layers) {
    console.log(
      `| ${l.name} | ${l.dIn} | ${l.dOut} | ${l.rows} | ${l.factorMs.expand.toFixed(1)} | ${l.factorMs.reduce.toFixed(1)} | ${l.eighMs.toFixed(1)} (${l.solver}) |`,
    );
  }
  return row;
}

/** Per layer: capture one batch's rows and back-propagated vectors, then time the factor math of each approximation. */
async function layerFactorTimes(backend: Backend, batch: CurvatureBatch, batches: number): Promise<LayerRow[]> {
  const captured: { capture: KfacForwardCapture; a: Tensor; b: Tensor | null }[] = [];
  scope(() => {
    const captures: KfacForwardCapture[] = [];
    const outputs = withCurvatureCapture({ capture: (c) => void captures.push(c) }, batch.forward);
    for (const c of captures) {
      const entry = {
        capture: c,
        a: keep(backend.concat([c.input, backend.fill([c.input.shape[0], 1], 1, c.input.dtype)], 1)),
        b: null as Tensor | null,
      };
      c.output.onGrad((b) => void (entry.b = keep(backend.reshape(b, b.shape))));
      captured.push(entry);
    }
    runSeedPasses(
      outputs,
      noGrad(() => backPropagatedSeeds(backend, outputs.value, batch.loss, 'mc', 1, 0)),
      false,
    );
  });
  batch.dispose?.();
  const rows: LayerRow[] = [];
  for (const { capture: c, a, b } of captured) {
    if (!b) throw new Error(`layer ${c.layer.name} received no gradient`);
    const layout = c.layout;
    const grouped = (x: Tensor) => (layout.kind === 'dense' ? backend.reshape(x, [layout.examples, layout.positions, x.shape[1]]) : null);
    const run = (approx: KfacApprox) => async () => {
      const out = scope(() => {
        if (approx === 'expand') return [backend.factor(a, { alpha: 1 / a.shape[0] }), backend.factor(b)];
        const ga = grouped(a);
        const gb = grouped(b);
        if (!ga || !gb)
          return [
            backend.factor(backend.scatterAdd(a, (layout as { index: Tensor }).index, layout.examples)),
            backend.factor(backend.scatterAdd(b, (layout as { index: Tensor }).index, layout.examples)),
          ];
        return [
          backend.factor(backend.sharedReduce(ga, 'mean'), { alpha: 1 / layout.examples }),
          backend.factor(backend.sharedReduce(gb, 'sum')),
        ];
      });
      await backend.sync();
      out.forEach((t) => t.dispose());
    };
    const [dOut, dIn] = c.layer.weight.variable.shape;
    rows.push({
      name: c.layer.name,
      dIn,
      dOut,
      rows: a.shape[0],
      examples: layout.examples,
      factorMs: { expand: (await median(run('expand'))) * batches, reduce: (await median(run('reduce'))) * batches },
      eighMs: 0,
      solver: '',
    });
    a.dispose();
    b.dispose();
  }
  return rows;
}

/** The device eigh against the host round trip, by size, on random PSD matrices like factors. */
async function eighComparison(backend: Backend): Promise<EighRow[]> {
  const rng = new Rng(3);
  const rows: EighRow[] = [];
  console.log('\neigh of one n×n factor on the device vs on the host (read, float64 solve, upload), ms');
  console.log('|   n | device | host | value error | ‖QᵀQ − I‖ |');
  for (const n of [8, 16, 32, 64, 128]) {
    const x = rng.normalArray(n * 2 * n);
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) for (let k = 0; k < 2 * n; k++) m[i * n + j] += (x[i * 2 * n + k] * x[j * 2 * n + k]) / (2 * n);
    const t = backend.tensor(m, [n, n], 'float32');
    let device: Awaited<ReturnType<typeof decomposeFactor>> | null = null;
    const deviceMs = await median(async () => {
      device?.values.dispose();
      device?.vectors.dispose();
      device = await decomposeFactor(t, 'device');
      await backend.sync();
    }, 1);
    const hostMs = await median(async () => {
      const h = await decomposeFactor(t, 'host');
      await backend.sync();
      h.values.dispose();
      h.vectors.dispose();
    }, 1);
    const exact = hostEigh(m, n).values;
    const d = device as unknown as { values: Tensor; vectors: Tensor };
    const values = await d.values.read();
    const q = await d.vectors.read();
    let valueError = 0;
    for (let i = 0; i < n; i++) valueError = Math.max(valueError, Math.abs(values[i] - exact[i]) / exact[0]);
    let orthogonality = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += q[k * n + i] * q[k * n + j];
        orthogonality = Math.max(orthogonality, Math.abs(s - (i === j ? 1 : 0)));
      }
    }
    d.values.dispose();
    d.vectors.dispose();
    t.dispose();
    rows.push({ n, deviceMs, hostMs, valueError, orthogonality });
    console.log(
      `| ${String(n).padStart(3)} | ${deviceMs.toFixed(1)} | ${hostMs.toFixed(1)} | ${valueError.toExponential(1)} | ${orthogonality.toExponential(1)} |`,
    );
  }
  return rows;
}
