// `npm run bench -- <name> [args]`: runs one benchmark; each writes its results to bench/results/<name>.json.
const BENCHES: Record<string, { about: string; run: (args: string[]) => Promise<unknown> }> = {
  matmul: {
    about:
      'matmul GFLOP/s, ours vs TensorFlow.js WebGPU, then ours WASM vs jax-js WASM, TensorFlow.js WASM and the reference CPU (square sizes and K-FAC XᵀX shapes)',
    run: async () => (await import('./matmul.ts')).runMatmulBench(),
  },
  'kfac-ablation': {
    about:
      'Why K-FAC does not beat Adam on the tiny ViT: Fisher type × damping × lr, ε, batch and fallback changed one at a time under the race protocol; factor noise, damped spectra, cost per step [--seeds 1,2,3] [--max-steps 150] [--budget-s 760]',
    run: async (args) => (await import('./kfac-ablation.ts')).runKfacAblationBench(args),
  },
  kfac: {
    about:
      'K-FAC cost: expand vs reduce factor time as R grows; time per step vs SGD and Adam on the tiny ViT, per-phase times, the ≤ 1.3× Adam goal check [--backend webgpu|wasm|cpu]',
    run: async (args) => (await import('./kfac.ts')).runKfacBench(args),
  },
  steps: {
    about: 'time per step of every task preset (and the ViT at batch 64) on the reference CPU vs the WASM backend [--steps n]',
    run: async (args) => (await import('./preset-steps.ts')).runPresetStepsBench(args),
  },
  'host-copy': {
    about: "cost of the lab's periodic host copy (parameters + optimizer state) per run of the ViT preset [--backend webgpu|cpu]",
    run: async (args) => (await import('./host-copy.ts')).runHostCopyBench(args),
  },
  curvature: {
    about:
      'curvature toolkit on the ViT and the CNN: fit over 1,000 examples, eigh, EK-FAC Λ, expand vs reduce per layer; device vs host eigh [--backend cpu|webgpu|both]',
    run: async (args) => (await import('./curvature.ts')).runCurvatureBench(args),
  },
  marglik: {
    about:
      'Laplace / marginal likelihood: time per Kronecker Laplace fit, expand vs reduce, as R grows (ViT and CNN, R = 16, 64, 256); marglik training with each flavour vs a weight-decay grid on cnn-mnist [--backend wasm|cpu|webgpu] [--epochs 10]',
    run: async (args) => (await import('./marglik.ts')).runMarglikBench(args),
  },
  influence: {
    about:
      'influence functions: LDS (M half subsets × S seeds) of identity, K-FAC and EK-FAC on the MNIST MLP, the CNN and the 2-D diffusion model; removal test; time to score 4,096 images × 100 queries [--backend wasm|cpu|webgpu] [--subsets 50] [--seeds 2] [--models ...] [--quick]',
    run: async (args) => (await import('./influence.ts')).runInfluenceBench(args),
  },
  reproduce: {
    about:
      'steps and wall-clock to a validation target: SGD / Adam / K-FAC-expand / K-FAC-reduce with warm-up + cosine, equal tuning grids, 5 seeds, goal checks [--backend cpu|wasm|webgpu] [--tasks a,b] [--seeds 1,2,3,4,5] [--tune-seed 0] [--tuned-from file.json] [--quick]',
    run: async (args) => (await import('./reproduce.ts')).runReproduceBench(args),
  },
  thermo: {
    about:
      'thermodynamic K-FAC: steps to target and final loss vs device bits b and samples S, against digital K-FAC and Adam, 3 seeds [--backend wasm|webgpu|cpu] [--tasks mlp-mnist,vit-mnist] [--seeds 1,2,3]',
    run: async (args) => (await import('./thermo.ts')).runThermoBench(args),
  },
  ngd: {
    about:
      'natural gradient on wide ReLU nets: per-step residual ratio vs width for NGD, GD and K-FAC on MNIST 4 vs 9 [--backend wasm|webgpu|cpu] [--widths ...]',
    run: async (args) => (await import('./ngd.ts')).runNgdBench(args),
  },
  edit: {
    about:
      'memorisation editing: noisy-mnist and modular-exceptions, the four accuracies vs ρ for the K-FAC edit, SVD at equal rank and the rectangle variant, 3 seeds [--backend wasm|cpu|webgpu] [--seeds 1,2,3] [--experiments a,b]',
    run: async (args) => (await import('./edit.ts')).runEditBench(args),
  },
  prune: {
    about:
      'one-shot test accuracy at sparsity 0.5 … 0.95 of magnitude, diagonal Fisher, WoodFisher and K-FAC-OBS on the MNIST MLP and CNN, 3 seeds, with and without fine-tuning [--backend wasm|webgpu|cpu] [--seeds 1,2,3] [--finetune 100]',
    run: async (args) => (await import('./prune.ts')).runPruneBench(args),
  },
  'influence-diffusion': {
    about:
      'influence on the 2-D diffusion model alone (the rows bench influence includes): LDS of identity, K-FAC, EK-FAC over 64 half subsets × 2 seeds [--backend wasm|cpu|webgpu] [--measurement loss|elbo] [--quick]',
    run: async (args) => (await import('./influence-diffusion.ts')).runInfluenceDiffusionBench(args),
  },
};

function usage(): string {
  const names = Object.entries(BENCHES).map(([name, b]) => `  ${name.padEnd(10)} ${b.about}`);
  return ['usage: npm run bench -- <name> [options]', '', 'benchmarks:', ...names].join('\n');
}

const benchName = process.argv[2];
const bench = benchName !== undefined && Object.hasOwn(BENCHES, benchName) ? BENCHES[benchName] : undefined;
if (!bench) {
  if (benchName !== undefined) console.error(`unknown benchmark "${benchName}"\n`);
  console.error(usage());
  process.exit(2);
}
await bench.run(process.argv.slice(3));
// Dawn's event loop hooks can keep Node alive after the devices are destroyed.
process.exit(0);

export {};
