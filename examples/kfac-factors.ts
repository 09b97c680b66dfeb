// K-FAC factors of a tiny two-layer network with weight sharing, checked against the exact GGN —
// the scripting example shown in the README (a test runs it).
import { CpuBackend, computeKfacFactors, constant, exactGgnBlock, kron, Linear, lossSpec, ops, Rng } from '../src/engine/index.ts';

export function kfacFactorsExample() {
  const backend = new CpuBackend(); // float64 on the CPU: exact enough to compare with the GGN
  const ctx = { backend, seed: 0, precision: 'float64' as const };
  const first = new Linear(ctx, 'first', 3, 4);
  const second = new Linear(ctx, 'second', 4, 2);
  const rng = new Rng(1);
  const x = constant(backend.tensor(rng.uniformArray(4 * 5 * 3), [4, 5, 3], 'float64')); // N = 4 examples, R = 5 positions
  const y = backend.tensor(rng.uniformArray(4 * 2), [4, 2], 'float64');
  // Reduce setting: the model averages over the shared positions before a per-example MSE loss.
  const forward = () => ops.mean(second.forward(first.forward(x)), 1);
  const loss = { spec: lossSpec('mse', 'sum'), targets: y };
  const factors = computeKfacFactors(forward, loss, { approx: 'reduce', fisher: 'type-2', bias: 'folded' });
  const errors = factors.map(({ name, A, G, layer }) => {
    const exact = exactGgnBlock(forward, loss, layer.weight.variable, layer.bias?.variable ?? null, { bias: 'folded' });
    const approx = kron(backend.readSync(G), backend.readSync(A)).values;
    const scale = Math.max(...exact.weight.values.map(Math.abs));
    const worst = Math.max(...approx.map((v, i) => Math.abs(v - exact.weight.values[i])));
    return { name, A: A.shape, G: G.shape, relativeError: worst / scale };
  });
  console.table(errors); // K-FAC-reduce is exact for deep linear networks in the reduce setting (§6)
  return errors;
}
