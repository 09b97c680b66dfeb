// `npm run bench -- ngd`: natural gradient on wide networks (docs/curvature-tools.md §7). On MNIST
// 4 vs 9 (n = 200, 14×14, unit-norm inputs), the two-layer ReLU net at widths 64 … 4096 is trained
// from the same initial weights by exact NGD (η = 0.25 and 0.5), GD at its largest stable step and
// K-FAC on the first layer; records every per-step residual ratio ‖r_{k+1}‖/‖r_k‖ and, per width,
// λ₀ and λ_max of the initial Gram matrix. Writes bench/results/ngd.json.
//
// Usage: npm run bench -- ngd [--backend wasm|webgpu|cpu] [--n 200] [--steps 10] [--widths 64,256,1024,4096]
import { mkdirSync, writeFileSync } from 'node:fs';
import { createBackend } from '../src/engine/backend/create-backend.ts';
import { compareWide, loadNgdData, type WideMethod } from '../src/engine/ngd/index.ts';

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

export async function runNgdBench(args: string[]): Promise<void> {
  const backendName = option(args, '--backend', 'wasm') as 'wasm' | 'webgpu' | 'cpu';
  const n = Number(option(args, '--n', '200'));
  const steps = Number(option(args, '--steps', '10'));
  const widths = option(args, '--widths', '64,256,1024,4096').split(',').map(Number);
  const kfacDamping = Number(option(args, '--kfac-damping', '0.01'));
  const backend = await createBackend({ prefer: backendName, requireWebGPU: backendName === 'webgpu' });
  const device = backend.info.summary;
  console.log(`ngd bench on ${device}`);
  const data = await loadNgdData('mnist-4-9', n, 0);
  const rows: { width: number; eta: number; method: WideMethod; ratios: number[] }[] = [];
  const gram: { width: number; lambda0: number; lambdaMax: number; gdStep: number; gdRate: number }[] = [];
  const clock = performance.now();
  for (const eta of [0.25, 0.5]) {
    const methods: WideMethod[] = eta === 0.5 ? ['ngd', 'gd', 'kfac'] : ['ngd', 'kfac'];
    const result = await compareWide(backend, data, { widths, methods, eta, steps, seed: 1, kfacDamping });
    for (const w of result.widths) {
      if (eta === 0.5) gram.push({ width: w.width, lambda0: w.lambda0, lambdaMax: w.lambdaMax, gdStep: w.gdStep, gdRate: w.gdRate });
      for (const r of w.runs) {
        // GD's step is its own (h = n/λ_max), not η: its row says eta = h.
        rows.push({ width: w.width, eta: r.eta, method: r.method, ratios: r.ratios });
        const dev =
          r.method === 'ngd' ? `, max |ratio − (1 − η)| ${Math.max(...r.ratios.map((x) => Math.abs(x - (1 - eta)))).toFixed(4)}` : '';
        console.log(
          `  η ${eta} width ${String(w.width).padStart(5)} ${r.method.padEnd(5)} ${r.ratios.map((x) => x.toFixed(3)).join(' ')}${dev}`,
        );
      }
      console.log(
        `    λ₀ ${w.lambda0.toExponential(3)}, λ_max ${w.lambdaMax.toExponential(3)}, GD's predicted rate 1 − λ₀/λ_max = ${w.gdRate.toFixed(4)}`,
      );
    }
  }
  const out = {
    benchmark: 'ngd',
    device,
    backend: backend.name,
    started: new Date().toISOString(),
    seconds: Math.round((performance.now() - clock) / 1000),
    command: `npm run bench -- ngd --backend ${backendName} --n ${n} --steps ${steps} --widths ${widths.join(',')}`,
    settings: {
      data: 'mnist-4-9 (14×14, centred, unit-norm rows; +1 for 4, −1 for 9)',
      n,
      steps,
      seed: 1,
      kfacDamping,
      ngdRidge: 1e-6,
      activation: 'relu',
    },
    gram,
    rows,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/ngd.json', JSON.stringify(out, null, 2) + '\n');
  console.log('\nwrote bench/results/ngd.json');
  backend.destroy();
}
