// Every operation of a Kronecker block G ⊗ A (src/engine/curvature/kronecker.ts) against its dense
// float64 twin: products, the damped inverse by exact damping and by π-damped Cholesky, log det,
// the inverse's diagonal, trace and spectrum — on the CPU (float64) and on WebGPU (float32), at
// awkward sizes, for one vector and a batch, and for a separate bias block (A = [1]).
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { kron } from '../../src/engine/curvature/exact-ggn.ts';
import { kroneckerBlock, type KroneckerBlock } from '../../src/engine/curvature/toolkit.ts';
import { hostEigenvalues } from '../../src/engine/linalg/host-eigh.ts';
import { Rng } from '../../src/engine/random.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { useBackends } from '../helpers/backends.ts';
import { addIdentity, logDetDense, matVec, scaledMaxError, solveDense } from './toolkit-helpers.ts';

const backends = useBackends();

/** A random PSD matrix X Xᵀ / k + shift I with a spread of eigenvalues. */
function spd(rng: Rng, n: number, shift: number): Float64Array {
  const k = n + 2;
  const x = rng.uniformArray(n * k);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += x[i * k + l] * x[j * k + l];
      m[i * n + j] = s / k + (i === j ? shift : 0);
    }
  return m;
}

const SHAPES: [number, number][] = [
  [1, 1],
  [3, 5],
  [17, 3],
  [4, 17],
];
const DAMPING = 0.1;

for (const name of ['cpu', 'gpu'] as const) {
  describe(`Kronecker block operations against dense twins (${name})`, () => {
    const tol = name === 'cpu' ? 1e-10 : 2e-4;
    for (const [dOut, width] of SHAPES) {
      it(`G ${dOut}×${dOut}, A ${width}×${width}`, async () => {
        const be: Backend = backends[name];
        const dtype = name === 'cpu' ? 'float64' : 'float32';
        const rng = new Rng(dOut * 100 + width);
        const A = spd(rng, width, 0.05);
        const G = spd(rng, dOut, 0.02);
        for (const eigh of name === 'cpu' ? (['auto'] as const) : (['device', 'host'] as const)) {
          const block = kroneckerBlock(be.tensor(A, [width, width], dtype), be.tensor(G, [dOut, dOut], dtype), { eigh });
          try {
            await checkBlock(be, block, A, G, dOut, width, dtype, tol, rng);
            expect((await block.eigen()).solver).toBe(eigh === 'auto' ? 'host' : eigh);
          } finally {
            block.dispose();
          }
        }
      });
    }

    it('a separate bias block G ⊗ [1]', async () => {
      const be: Backend = backends[name];
      const dtype = name === 'cpu' ? 'float64' : 'float32';
      const rng = new Rng(5);
      const G = spd(rng, 6, 0.1);
      const block = kroneckerBlock(null, be.tensor(G, [6, 6], dtype));
      try {
        expect(block.width).toBe(1);
        await checkBlock(be, block, new Float64Array([1]), G, 6, 1, dtype, tol, rng);
      } finally {
        block.dispose();
      }
    });

    it('rejects vectors of the wrong shape and negative damping with clear messages', async () => {
      const be: Backend = backends[name];
      const block = kroneckerBlock(be.fill([3, 3], 1, 'float32'), be.fill([2, 2], 1, 'float32'));
      const wrong = be.zeros([3, 2], 'float32');
      try {
        expect(() => block.multiply(wrong)).toThrow(/expected a matrix-shaped vector \[2, 3\]/);
        await expect(block.inverseApply(be.zeros([2, 3], 'float32'), { damping: -1 })).rejects.toThrow(/damping must be/);
      } finally {
        wrong.dispose();
        block.dispose();
      }
    });
  });
}

async function checkBlock(
  be: Backend,
  block: KroneckerBlock,
  A: Float64Array,
  G: Float64Array,
  dOut: number,
  width: number,
  dtype: 'float32' | 'float64',
  tol: number,
  rng: Rng,
): Promise<void> {
  const P = dOut * width;
  const dense = kron(G, A).values;
  const B = 3;
  const vs = rng.uniformArray(B * P);
  const batch = be.tensor(vs, [B, dOut, width], dtype);
  const single = be.tensor(vs.subarray(0, P), [dOut, width], dtype);
  const read = async (t: Tensor) => {
    try {
      return Float64Array.from(await t.read());
    } finally {
      t.dispose();
    }
  };
  const perVector = (f: (v: Float64Array) => Float64Array) => {
    const out = new Float64Array(B * P);
    for (let b = 0; b < B; b++) out.set(f(vs.slice(b * P, (b + 1) * P)), b * P);
    return out;
  };
  try {
    // Products.
    expect(
      scaledMaxError(
        await read(block.multiply(batch)),
        perVector((v) => matVec(dense, v)),
      ),
      'multiply (batch)',
    ).toBeLessThan(tol);
    expect(scaledMaxError(await read(block.multiply(single)), matVec(dense, vs.subarray(0, P))), 'multiply').toBeLessThan(tol);

    // Exact damping: (G ⊗ A + λI)⁻¹.
    const damped = addIdentity(dense, P, DAMPING);
    const exact = perVector((v) => solveDense(damped, v));
    expect(scaledMaxError(await read(await block.inverseApply(batch, { damping: DAMPING })), exact), 'inverse eigen (batch)').toBeLessThan(
      tol * 10,
    );
    expect(
      scaledMaxError(await read(await block.inverseApply(single, { damping: DAMPING, method: 'eigen' })), exact.subarray(0, P)),
      'inverse eigen',
    ).toBeLessThan(tol * 10);

    // π-damping: (G + (√λ/π) I)⁻¹ ⊗ (A + π√λ I)⁻¹ with π = sqrt((tr A / dA) / (tr G / dG)).
    const trace = (m: Float64Array, n: number) => Array.from({ length: n }, (_, i) => m[i * n + i]).reduce((s, x) => s + x, 0);
    const pi = Math.sqrt(trace(A, width) / width / (trace(G, dOut) / dOut));
    const piDense = kron(addIdentity(G, dOut, Math.sqrt(DAMPING) / pi), addIdentity(A, width, pi * Math.sqrt(DAMPING))).values;
    expect(
      scaledMaxError(
        await read(await block.inverseApply(batch, { damping: DAMPING, method: 'cholesky' })),
        perVector((v) => solveDense(piDense, v)),
      ),
      'inverse cholesky',
    ).toBeLessThan(tol * 10);

    // log det(s C + δ I).
    const logDet = await block.logDet({ scale: 2.5, damping: DAMPING });
    expect(Math.abs(logDet - logDetDense(addIdentity(dense, P, DAMPING, 2.5), P)) / Math.max(1, Math.abs(logDet))).toBeLessThan(tol * 10);

    // diag((C + λI)⁻¹): column j of the dense inverse at row j.
    const diag = Float64Array.from({ length: P }, (_, j) => {
      const e = new Float64Array(P);
      e[j] = 1;
      return solveDense(damped, e)[j];
    });
    expect(scaledMaxError(await read(await block.inverseDiagonal(DAMPING)), diag), 'inverse diagonal').toBeLessThan(tol * 10);

    // Trace and spectrum.
    expect(Math.abs((await block.trace()) - trace(dense, P)) / trace(dense, P)).toBeLessThan(tol);
    const spectrum = Array.from(await block.spectrum()).sort((a, b) => b - a);
    expect(scaledMaxError(spectrum, hostEigenvalues(dense, P)), 'spectrum').toBeLessThan(tol);
  } finally {
    batch.dispose();
    single.dispose();
  }
}
