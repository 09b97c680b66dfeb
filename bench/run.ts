// `npm run bench -- <name>`: runs one benchmark; each writes its results to bench/results/<name>.json.
const BENCHES: Record<string, { about: string; run: () => Promise<unknown> }> = {
  matmul: {
    about: 'matmul GFLOP/s, ours vs TensorFlow.js WebGPU (square sizes and K-FAC XᵀX shapes)',
    run: async () => (await import('./matmul.ts')).runMatmulBench(),
  },
};

function usage(): string {
  const names = Object.entries(BENCHES).map(([name, b]) => `  ${name.padEnd(10)} ${b.about}`);
  return ['usage: npm run bench -- <name>', '', 'benchmarks:', ...names].join('\n');
}

const name = process.argv[2];
const bench = name !== undefined && Object.hasOwn(BENCHES, name) ? BENCHES[name] : undefined;
if (!bench) {
  if (name !== undefined) console.error(`unknown benchmark "${name}"\n`);
  console.error(usage());
  process.exit(2);
}
await bench.run();
// Dawn's event loop hooks can keep Node alive after the devices are destroyed.
process.exit(0);
