// Batched dense linear algebra (cholesky, triangularSolve, choleskyInverse, eigh) on both backends.
// Checks are reconstruction-based, with tolerances from the float32 error bounds (n · eps · scale,
// times the condition number where it enters), plus WebGPU against the float64 CPU oracle.
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/engine/tensor.ts';
import { Rng } from '../../src/engine/random.ts';
import { ShapeError } from '../../src/engine/shape-rules/shape.ts';
import { choleskyChecked, NotPositiveDefiniteError, spdInverse, spdSolve } from '../../src/engine/shape-rules/linalg.ts';
import { AWKWARD_SIZES, useBackends } from '../helpers/backends.ts';
import { fromSpectrum, randomOrthogonal, randomSymmetric } from '../helpers/matrices.ts';

const b = useBackends();
const EPS32 = 2 ** -23;
const BACKENDS = ['cpu', 'gpu'] as const;
type Which = (typeof BACKENDS)[number];

// ---- host-side float64 matrix helpers (row-major n×n unless said otherwise) ---------------------

/** Eigenvalues spread log-uniformly over [lo, hi] (both included). */
function logspace(lo: number, hi: number, n: number): Float64Array {
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) w[k] = n === 1 ? hi : lo * (hi / lo) ** (k / (n - 1));
  return w;
}

/** An SPD matrix with condition number `cond` (eigenvalues in [1/cond, 1] · scale, random eigenvectors). */
function spdMatrix(rng: Rng, n: number, cond: number, scale = 1): Float64Array {
  return fromSpectrum(randomOrthogonal(rng, n), logspace(scale / cond, scale, n), n);
}

/** Batch of matrices, each rounded to float32 (so both backends and the oracle see identical inputs). */
function stack(mats: Float64Array[]): Float64Array {
  const out = new Float64Array(mats.reduce((s, m) => s + m.length, 0));
  let o = 0;
  for (const m of mats) {
    out.set(Float32Array.from(m), o);
    o += m.length;
  }
  return out;
}

/** C = A B for A [n, k] and B [k, m] at offsets. */
function matmul(a: ArrayLike<number>, aOff: number, bm: ArrayLike<number>, bOff: number, n: number, k: number, m: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < k; r++) {
      const air = a[aOff + i * k + r];
      if (air === 0) continue;
      for (let j = 0; j < m; j++) c[i * m + j] += air * bm[bOff + r * m + j];
    }
  }
  return c;
}

function maxAbs(x: ArrayLike<number>, off = 0, len = x.length - off): number {
  let m = 0;
  for (let i = off; i < off + len; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

function maxAbsDiff(x: ArrayLike<number>, xOff: number, y: ArrayLike<number>, yOff: number, len: number): number {
  let m = 0;
  for (let i = 0; i < len; i++) {
    const d = Math.abs(x[xOff + i] - y[yOff + i]);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

function upload(which: Which, data: ArrayLike<number>, shape: number[], float64 = false): Tensor {
  return b[which].tensor(data, shape, float64 ? 'float64' : 'float32');
}

// ---- checks -------------------------------------------------------------------------------------

/** L lower with zeros above, finite, and ‖L Lᵀ − A‖max ≤ (n+1)·eps·max a_ii (2× the float32 backward-error bound). */
function checkCholesky(l: ArrayLike<number>, a: ArrayLike<number>, n: number, batch: number, eps: number, label: string): void {
  for (let m = 0; m < batch; m++) {
    const off = m * n * n;
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) expect(l[off + i * n + j], `${label}: L[${m}][${i}][${j}] above the diagonal`).toBe(0);
    const lt = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) lt[j * n + i] = l[off + i * n + j];
    const llt = matmul(l, off, lt, 0, n, n, n);
    let diag = 0;
    for (let i = 0; i < n; i++) diag = Math.max(diag, a[off + i * n + i]);
    const err = maxAbsDiff(llt, 0, a, off, n * n);
    expect(err, `${label}: matrix ${m}: max |L Lᵀ − A| = ${err.toExponential(2)} (max a_ii ${diag.toExponential(2)})`).toBeLessThanOrEqual(
      (n + 1) * eps * diag,
    );
  }
}

/** Residual of L X = B (or Lᵀ X = B) elementwise against n·eps·(|L||X|) (2× the backward-error bound). */
function checkSolve(
  l: ArrayLike<number>,
  x: ArrayLike<number>,
  rhs: ArrayLike<number>,
  n: number,
  k: number,
  batch: number,
  transpose: boolean,
  eps: number,
  label: string,
): void {
  for (let m = 0; m < batch; m++) {
    const lOff = m * n * n;
    const xOff = m * n * k;
    const op = new Float64Array(n * n);
    const opAbs = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const v = transpose ? l[lOff + j * n + i] : l[lOff + i * n + j];
        op[i * n + j] = v;
        opAbs[i * n + j] = Math.abs(v);
      }
    }
    const lx = matmul(op, 0, x, xOff, n, n, k);
    const xAbs = Float64Array.from({ length: n * k }, (_, i) => Math.abs(x[xOff + i]));
    const scale = matmul(opAbs, 0, xAbs, 0, n, n, k);
    for (let i = 0; i < n * k; i++) {
      const r = Math.abs(lx[i] - rhs[xOff + i]);
      if (!(r <= n * eps * scale[i] + 1e-30)) {
        expect.fail(
          `${label}: matrix ${m} entry ${i}: residual ${r.toExponential(2)} > ${n}·eps·(|L||X|) = ${(n * eps * scale[i]).toExponential(2)}`,
        );
      }
    }
  }
}

/** Values ascending, ‖Q diag(w) Qᵀ − A‖max ≤ tolRec·max|w| and ‖QᵀQ − I‖max ≤ tolOrth. */
function checkEigh(
  w: ArrayLike<number>,
  q: ArrayLike<number>,
  a: ArrayLike<number>,
  n: number,
  batch: number,
  tolRec: number,
  tolOrth: number,
  label: string,
): void {
  for (let m = 0; m < batch; m++) {
    const off = m * n * n;
    for (let k = 1; k < n; k++)
      expect(w[m * n + k], `${label}: matrix ${m}: values ascending at ${k}`).toBeGreaterThanOrEqual(w[m * n + k - 1]);
    const qw = new Float64Array(n * n);
    const qt = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        qw[i * n + k] = q[off + i * n + k] * w[m * n + k];
        qt[k * n + i] = q[off + i * n + k];
      }
    }
    const rec = matmul(qw, 0, qt, 0, n, n, n);
    const scale = Math.max(maxAbs(w, m * n, n), 1e-30);
    const recErr = maxAbsDiff(rec, 0, a, off, n * n) / scale;
    expect(recErr, `${label}: matrix ${m}: max |Q diag(w) Qᵀ − A| / max|w|`).toBeLessThanOrEqual(tolRec);
    const qtq = matmul(qt, 0, q, off, n, n, n);
    for (let i = 0; i < n; i++) qtq[i * n + i] -= 1;
    expect(maxAbs(qtq), `${label}: matrix ${m}: max |QᵀQ − I|`).toBeLessThanOrEqual(tolOrth);
  }
}

// ---- tests --------------------------------------------------------------------------------------

describe('cholesky', () => {
  for (const which of BACKENDS) {
    for (const n of AWKWARD_SIZES) {
      it(`${which}: n = ${n}, batched [3, n, n] (κ = 10, 1e4, 1e6) and unbatched`, async () => {
        const be = b[which];
        const rng = new Rng(100 + n);
        const data = stack([spdMatrix(rng, n, 10), spdMatrix(rng, n, 1e4, 3), spdMatrix(rng, n, 1e6, 0.01)]);
        const a = upload(which, data, [3, n, n]);
        const result = be.cholesky(a);
        expect(result.factor.shape).toEqual([3, n, n]);
        expect(result.status.shape).toEqual([3]);
        expect(result.status.dtype).toBe('int32');
        expect(Array.from(await result.status.read())).toEqual([0, 0, 0]);
        const l = await result.factor.read();
        checkCholesky(l, data, n, 3, EPS32, `${which} cholesky n=${n}`);
        // Against the float64 oracle: forward error of a Cholesky factor grows with κ (√κ-ish in practice).
        if (which === 'gpu') {
          const oracle = await b.cpu.cholesky(b.cpu.tensor(data, [3, n, n], 'float64')).factor.read();
          const err = maxAbsDiff(l, 0, oracle, 0, n * n) / maxAbs(oracle, 0, n * n);
          expect(err, `gpu vs float64 factor, κ = 10, n = ${n}`).toBeLessThan(n * EPS32 * 10);
        }

        const single = upload(which, data.subarray(n * n, 2 * n * n), [n, n]);
        const one = be.cholesky(single);
        expect(one.status.shape).toEqual([]);
        expect(Array.from(await one.status.read())).toEqual([0]);
        checkCholesky(await one.factor.read(), data.subarray(n * n, 2 * n * n), n, 1, EPS32, `${which} cholesky unbatched n=${n}`);
        for (const t of [a, result.factor, result.status, single, one.factor, one.status]) t.dispose();
      });
    }
  }

  it('cpu float64: L Lᵀ = A to ~1e-15 relative (κ = 1e6)', async () => {
    const rng = new Rng(7);
    for (const n of [17, 65]) {
      const data = spdMatrix(rng, n, 1e6);
      const { factor, status } = b.cpu.cholesky(b.cpu.tensor(data, [n, n], 'float64'));
      expect(factor.dtype).toBe('float64');
      expect(Array.from(await status.read())).toEqual([0]);
      checkCholesky(await factor.read(), data, n, 1, 2 ** -52, `cpu float64 n=${n}`);
    }
  });

  for (const which of BACKENDS) {
    it(`${which}: a matrix that is not positive definite reports the first bad pivot, without NaNs`, async () => {
      const be = b[which];
      const n = 17;
      const rng = new Rng(5);
      // A = M Mᵀ (M unit lower triangular, so every pivot of A is 1), then a_kk −= 2: the leading
      // k×k block stays positive definite and pivot k+1 (1-based) becomes −1.
      const broken = (k: number): Float64Array => {
        const mm = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) mm[i * n + j] = i === j ? 1 : 0.3 * rng.normal();
        const mt = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) mt[j * n + i] = mm[i * n + j];
        const a = matmul(mm, 0, mt, 0, n, n, n);
        a[k * n + k] -= 2;
        return a;
      };
      const good = spdMatrix(rng, n, 100);
      const nan = spdMatrix(rng, n, 100);
      nan[5 * n + 3] = NaN; // lower triangle: row 5 fails first
      const data = stack([broken(0), good, broken(6), broken(16), nan]);
      const a = upload(which, data, [5, n, n]);
      const { factor, status } = be.cholesky(a);
      expect(Array.from(await status.read())).toEqual([1, 0, 7, 17, 6]);
      const l = await factor.read();
      // No NaNs from a failed pivot (matrix 4 had a NaN in its input, so it may carry it).
      expect(l.subarray(0, 4 * n * n).every((v) => !Number.isNaN(v))).toBe(true);
      // Matrix 2 fails at pivot 7: its first 6 columns are the true partial factor, the rest is zero.
      const partial = await b.cpu
        .cholesky(
          b.cpu.tensor(
            data.subarray(2 * n * n, 3 * n * n).map((v, i) => (i === 6 * n + 6 ? v + 2 : v)),
            [n, n],
            'float64',
          ),
        )
        .factor.read();
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const got = l[2 * n * n + i * n + j];
          if (j >= 6) expect(got, `L[2][${i}][${j}] after the failed pivot`).toBe(0);
          else expect(Math.abs(got - partial[i * n + j]), `L[2][${i}][${j}] before the failed pivot`).toBeLessThan(1e-5);
        }
      }
      checkCholesky(l.subarray(n * n, 2 * n * n), data.subarray(n * n, 2 * n * n), n, 1, EPS32, `${which} good matrix in a failing batch`);

      await expect(choleskyChecked(be, a)).rejects.toThrow(NotPositiveDefiniteError);
      const caught: unknown = await choleskyChecked(be, a).then(
        () => null,
        (e: unknown) => e,
      );
      expect(caught).toBeInstanceOf(NotPositiveDefiniteError);
      const err = caught as NotPositiveDefiniteError;
      expect(err.message).toMatch(/matrix \[0\] of the batch .* is not positive definite: pivot 1 of 17/);
      expect(err.message).toMatch(/3 more matrices/);
      expect(err.message).toMatch(/damping/);
      expect(err.failures.map((f) => [f.flatIndex, f.pivot])).toEqual([
        [0, 1],
        [2, 7],
        [3, 17],
        [4, 6],
      ]);
      const live = be.memory().liveTensors;
      const single = upload(which, data.subarray(2 * n * n, 3 * n * n), [n, n]);
      await expect(choleskyChecked(be, single)).rejects.toThrow(/the matrix \[17, 17\] is not positive definite: pivot 7 of 17/);
      single.dispose();
      expect(be.memory().liveTensors, 'choleskyChecked disposes what it made when it throws').toBe(live);
      const batched2 = upload(which, stack([good, good, good, broken(3)]), [2, 2, n, n]);
      await expect(choleskyChecked(be, batched2)).rejects.toThrow(/matrix \[1, 1\] of the batch/);
      for (const t of [a, factor, status, batched2]) t.dispose();
    });
  }

  it('zero-size inputs', async () => {
    for (const which of BACKENDS) {
      const be = b[which];
      const r = be.cholesky(be.zeros([2, 0, 0]));
      expect(r.factor.shape).toEqual([2, 0, 0]);
      expect(Array.from(await r.status.read())).toEqual([0, 0]);
      const e = be.eigh(be.zeros([0, 4, 4]));
      expect(e.values.shape).toEqual([0, 4]);
    }
  });
});

describe('triangularSolve', () => {
  for (const which of BACKENDS) {
    for (const n of AWKWARD_SIZES) {
      it(`${which}: n = ${n}, L X = B and Lᵀ X = B, batched and unbatched, k = 1, 5, 70`, async () => {
        const be = b[which];
        const rng = new Rng(200 + n);
        const ls = [0, 1, 2].map(() => {
          const spd = spdMatrix(rng, n, 1e3);
          return Float64Array.from(b.cpu.readSync(b.cpu.cholesky(b.cpu.tensor(spd, [n, n], 'float64')).factor));
        });
        const lData = stack(ls);
        const l = upload(which, lData, [3, n, n]);
        for (const k of [1, 5, 70]) {
          const rhs = Float64Array.from(Float32Array.from(rng.normalArray(3 * n * k)));
          const bt = upload(which, rhs, [3, n, k]);
          for (const transpose of [false, true]) {
            const x = be.triangularSolve(l, bt, { transpose });
            expect(x.shape).toEqual([3, n, k]);
            checkSolve(lData, await x.read(), rhs, n, k, 3, transpose, EPS32, `${which} solve n=${n} k=${k} transpose=${transpose}`);
            x.dispose();
          }
          bt.dispose();
        }
        const l1 = upload(
          which,
          ls[1].map((v) => Math.fround(v)),
          [n, n],
        );
        const rhs1 = Float64Array.from(Float32Array.from(rng.normalArray(n * 2)));
        const b1 = upload(which, rhs1, [n, 2]);
        const x1 = be.triangularSolve(l1, b1, { transpose: true });
        expect(x1.shape).toEqual([n, 2]);
        checkSolve(Float32Array.from(ls[1]), await x1.read(), rhs1, n, 2, 1, true, EPS32, `${which} unbatched solve n=${n}`);
        for (const t of [l, l1, b1, x1]) t.dispose();
      });
    }
  }

  it('gpu matches the cpu twin', async () => {
    const rng = new Rng(3);
    const n = 65;
    const lData = stack(
      [0, 1].map(() => Float64Array.from(b.cpu.readSync(b.cpu.cholesky(b.cpu.tensor(spdMatrix(rng, n, 10), [n, n], 'float64')).factor))),
    );
    const rhs = Float64Array.from(Float32Array.from(rng.normalArray(2 * n * 3)));
    for (const transpose of [false, true]) {
      const xg = await b.gpu.triangularSolve(b.gpu.tensor(lData, [2, n, n]), b.gpu.tensor(rhs, [2, n, 3]), { transpose }).read();
      const xc = await b.cpu
        .triangularSolve(b.cpu.tensor(lData, [2, n, n], 'float64'), b.cpu.tensor(rhs, [2, n, 3], 'float64'), { transpose })
        .read();
      expect(maxAbsDiff(xg, 0, xc, 0, xc.length) / maxAbs(xc)).toBeLessThan(n * EPS32 * 10);
    }
  });

  it('cpu float64: residuals at ~1e-15', async () => {
    const rng = new Rng(9);
    const n = 63;
    const spd = spdMatrix(rng, n, 1e4);
    const l = b.cpu.cholesky(b.cpu.tensor(spd, [n, n], 'float64')).factor;
    const lData = b.cpu.readSync(l);
    const rhs = rng.normalArray(n * 4);
    for (const transpose of [false, true]) {
      const x = b.cpu.triangularSolve(l, b.cpu.tensor(rhs, [n, 4], 'float64'), { transpose });
      expect(x.dtype).toBe('float64');
      checkSolve(lData, b.cpu.readSync(x), rhs, n, 4, 1, transpose, 2 ** -52, `cpu float64 transpose=${transpose}`);
    }
  });
});

describe('choleskyInverse', () => {
  for (const which of BACKENDS) {
    for (const n of AWKWARD_SIZES) {
      it(`${which}: n = ${n}, A·A⁻¹ = I, exactly symmetric, batched (κ = 10, 1e4) and unbatched`, async () => {
        const be = b[which];
        const rng = new Rng(300 + n);
        const conds = [10, 1e4, 10];
        const data = stack(conds.map((c) => spdMatrix(rng, n, c)));
        const a = upload(which, data, [3, n, n]);
        const { factor } = be.cholesky(a);
        const inv = be.choleskyInverse(factor);
        expect(inv.shape).toEqual([3, n, n]);
        const x = await inv.read();
        const oracle = await b.cpu.choleskyInverse(b.cpu.cholesky(b.cpu.tensor(data, [3, n, n], 'float64')).factor).read();
        for (let m = 0; m < 3; m++) {
          const off = m * n * n;
          for (let i = 0; i < n; i++)
            for (let j = 0; j < i; j++) expect(x[off + i * n + j], `A⁻¹ symmetric at (${i}, ${j})`).toBe(x[off + j * n + i]);
          // Forward error of an SPD inverse ≲ c·n·eps·κ; the residual A·X − I too (with ‖A‖ = 1).
          const rel = maxAbsDiff(x, off, oracle, off, n * n) / maxAbs(oracle, off, n * n);
          expect(rel, `${which} n=${n} matrix ${m} (κ = ${conds[m]}): |A⁻¹ − oracle| / |oracle|`).toBeLessThan(n * EPS32 * conds[m]);
          const ax = matmul(data, off, x, off, n, n, n);
          for (let i = 0; i < n; i++) ax[i * n + i] -= 1;
          expect(maxAbs(ax), `${which} n=${n} matrix ${m} (κ = ${conds[m]}): max |A·A⁻¹ − I|`).toBeLessThan(n * EPS32 * conds[m]);
        }
        const single = upload(which, data.subarray(0, n * n), [n, n]);
        const invSingle = await spdInverse(be, single);
        expect(invSingle.shape).toEqual([n, n]);
        expect(maxAbsDiff(await invSingle.read(), 0, oracle, 0, n * n) / maxAbs(oracle, 0, n * n)).toBeLessThan(n * EPS32 * 10);
        for (const t of [a, factor, inv, single, invSingle]) t.dispose();
      });
    }
  }

  it('cpu float64: A·A⁻¹ = I to 1e-10 at κ = 1e4', async () => {
    const rng = new Rng(11);
    for (const n of [17, 130]) {
      const data = spdMatrix(rng, n, 1e4);
      const inv = await spdInverse(b.cpu, b.cpu.tensor(data, [n, n], 'float64'));
      expect(inv.dtype).toBe('float64');
      const ax = matmul(data, 0, await inv.read(), 0, n, n, n);
      for (let i = 0; i < n; i++) ax[i * n + i] -= 1;
      expect(maxAbs(ax)).toBeLessThan(1e-10);
    }
  });

  it('gpu: one large factor (n = 512, batch 1): cholesky + inverse', async () => {
    const n = 512;
    const rng = new Rng(512);
    // A cheap well-conditioned SPD matrix: I + G Gᵀ / (4n) with a Gaussian G [n, n/8].
    const r = n / 8;
    const g = rng.normalArray(n * r);
    const data = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += g[i * r + k] * g[j * r + k];
        const v = Math.fround(s / (4 * n) + (i === j ? 1 : 0));
        data[i * n + j] = v;
        data[j * n + i] = v;
      }
    }
    const a = b.gpu.tensor(data, [n, n]);
    const chol = b.gpu.cholesky(a);
    const inv = b.gpu.choleskyInverse(chol.factor);
    expect(Array.from(await chol.status.read())).toEqual([0]);
    checkCholesky(await chol.factor.read(), data, n, 1, EPS32, 'gpu n=512');
    const x = await inv.read();
    const ax = matmul(data, 0, x, 0, n, n, n);
    for (let i = 0; i < n; i++) ax[i * n + i] -= 1;
    expect(maxAbs(ax)).toBeLessThan(n * EPS32 * 10);
    for (const t of [a, chol.factor, chol.status, inv]) t.dispose();
  });
});

describe('spdSolve', () => {
  for (const which of BACKENDS) {
    it(`${which}: A X = B through both triangular solves`, async () => {
      const be = b[which];
      const rng = new Rng(21);
      const n = 33;
      const data = stack([spdMatrix(rng, n, 100), spdMatrix(rng, n, 100)]);
      const rhs = Float64Array.from(Float32Array.from(rng.normalArray(2 * n * 3)));
      const x = await (await spdSolve(be, upload(which, data, [2, n, n]), upload(which, rhs, [2, n, 3]))).read();
      for (let m = 0; m < 2; m++) {
        const ax = matmul(data, m * n * n, x, m * n * 3, n, n, 3);
        expect(maxAbsDiff(ax, 0, rhs, m * n * 3, n * 3)).toBeLessThan(n * EPS32 * 100 * maxAbs(rhs));
      }
    });
  }
});

describe('eigh', () => {
  for (const which of BACKENDS) {
    for (const n of AWKWARD_SIZES) {
      it(`${which}: n = ${n}, Q diag(w) Qᵀ = A and QᵀQ = I, batched (indefinite; SPD with w in 1e-6..1e3) and unbatched`, async () => {
        const be = b[which];
        const rng = new Rng(400 + n);
        const wide = logspace(1e-6, 1e3, n);
        const data = stack([randomSymmetric(rng, n), fromSpectrum(randomOrthogonal(rng, n), wide, n), randomSymmetric(rng, n)]);
        const a = upload(which, data, [3, n, n]);
        const result = be.eigh(a);
        expect(result.values.shape).toEqual([3, n]);
        expect(result.vectors.shape).toEqual([3, n, n]);
        const w = await result.values.read();
        const q = await result.vectors.read();
        // Jacobi in float32 with unit-normalised vectors: measured 1–15 eps up to n = 200; (n + 8)·eps is an O(n·eps) bound.
        const tol = (n + 8) * EPS32;
        checkEigh(w, q, data, n, 3, tol, tol, `${which} eigh n=${n}`);
        // Eigenvalues against the float64 oracle (Weyl: |Δλ| ≤ ‖ΔA‖₂).
        const oracle = await b.cpu.eigh(b.cpu.tensor(data, [3, n, n], 'float64')).values.read();
        for (let m = 0; m < 3; m++) {
          const err = maxAbsDiff(w, m * n, oracle, m * n, n) / maxAbs(oracle, m * n, n);
          expect(err, `${which} n=${n} matrix ${m}: eigenvalues vs float64`).toBeLessThan(tol);
        }

        const single = upload(which, data.subarray(n * n, 2 * n * n), [n, n]);
        const one = be.eigh(single);
        expect(one.values.shape).toEqual([n]);
        const oneValues = await one.values.read();
        checkEigh(oneValues, await one.vectors.read(), data.subarray(n * n, 2 * n * n), n, 1, tol, tol, `${which} eigh unbatched n=${n}`);
        for (const t of [a, result.values, result.vectors, single, one.values, one.vectors]) t.dispose();
      });
    }
  }

  for (const which of BACKENDS) {
    it(`${which}: the tridiagonal [-1, 2, -1] matrix has eigenvalues 2 − 2cos(kπ/(n+1))`, async () => {
      const be = b[which];
      for (const n of [1, 2, 16, 31]) {
        const data = new Float64Array(n * n);
        for (let i = 0; i < n; i++) {
          data[i * n + i] = 2;
          if (i > 0) data[i * n + i - 1] = data[(i - 1) * n + i] = -1;
        }
        const { values, vectors } = be.eigh(upload(which, data, [n, n]));
        const w = await values.read();
        for (let k = 1; k <= n; k++)
          expect(Math.abs(w[k - 1] - (2 - 2 * Math.cos((k * Math.PI) / (n + 1)))), `n=${n} k=${k}`).toBeLessThan(8 * n * EPS32);
        checkEigh(w, await vectors.read(), data, n, 1, (n + 8) * EPS32, (n + 8) * EPS32, `${which} tridiagonal n=${n}`);
      }
    });

    it(`${which}: zero, diagonal and repeated-eigenvalue matrices`, async () => {
      const be = b[which];
      const n = 9;
      const zero = be.eigh(be.zeros([n, n]));
      expect(Array.from(await zero.values.read())).toEqual(new Array(n).fill(0));
      const eye = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
      expect(Array.from(await zero.vectors.read()), 'zero matrix: vectors are I').toEqual(eye);

      const diag = [3, -1, 0.5, 7, 0, -4, 2, 2, 1e-3];
      const dData = new Float64Array(n * n);
      diag.forEach((v, i) => (dData[i * n + i] = v));
      const d = be.eigh(upload(which, dData, [n, n]));
      const sorted = [...diag].sort((x, y) => x - y);
      expect(Array.from(await d.values.read())).toEqual(sorted.map(Math.fround));
      const dv = await d.vectors.read();
      // A permutation matrix: each column is a unit vector e_i with diag[i] = its value.
      for (let k = 0; k < n; k++) {
        const col = Array.from({ length: n }, (_, i) => dv[i * n + k]);
        const at = col.findIndex((v) => v === 1);
        expect(at, `diagonal matrix: column ${k} is a unit vector`).toBeGreaterThanOrEqual(0);
        expect(col.filter((v) => v !== 0)).toEqual([1]);
        expect(Math.fround(diag[at])).toBe(Math.fround(sorted[k]));
      }

      const rng = new Rng(77);
      const repeated = [1, 1, 1, 2, 2, 5, 5, 5, 5];
      const rData = Float64Array.from(Float32Array.from(fromSpectrum(randomOrthogonal(rng, n), repeated, n)));
      const r = be.eigh(upload(which, rData, [n, n]));
      const rw = await r.values.read();
      for (let k = 0; k < n; k++) expect(Math.abs(rw[k] - repeated[k])).toBeLessThan(4 * n * EPS32 * 5);
      checkEigh(rw, await r.vectors.read(), rData, n, 1, (n + 8) * EPS32, (n + 8) * EPS32, `${which} repeated eigenvalues`);
    });
  }

  it('gpu eigenvectors match the cpu twin (distinct eigenvalues, deterministic signs)', async () => {
    const rng = new Rng(55);
    const n = 40;
    const w = Float64Array.from({ length: n }, (_, k) => 1 + k); // well separated
    const data = stack([fromSpectrum(randomOrthogonal(rng, n), w, n)]);
    const g = b.gpu.eigh(b.gpu.tensor(data, [n, n]));
    const c = b.cpu.eigh(b.cpu.tensor(data, [n, n], 'float64'));
    // Eigenvector error ≈ eps·‖A‖ / gap = eps · 40 / 1.
    expect(maxAbsDiff(await g.vectors.read(), 0, await c.vectors.read(), 0, n * n)).toBeLessThan(n * n * EPS32);
  });

  it('cpu float64: reconstruction and orthogonality at ~1e-13, closed-form eigenvalues at 1e-12', async () => {
    const rng = new Rng(13);
    for (const n of [3, 65, 130]) {
      const data = stack([randomSymmetric(rng, n), fromSpectrum(randomOrthogonal(rng, n), logspace(1e-6, 1e3, n), n)]);
      const { values, vectors } = b.cpu.eigh(b.cpu.tensor(data, [2, n, n], 'float64'));
      expect(values.dtype).toBe('float64');
      checkEigh(await values.read(), await vectors.read(), data, n, 2, 1e-13, 1e-13, `cpu float64 n=${n}`);
    }
    const n = 50;
    const tri = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      tri[i * n + i] = 2;
      if (i > 0) tri[i * n + i - 1] = tri[(i - 1) * n + i] = -1;
    }
    const w = await b.cpu.eigh(b.cpu.tensor(tri, [n, n], 'float64')).values.read();
    for (let k = 1; k <= n; k++) expect(Math.abs(w[k - 1] - (2 - 2 * Math.cos((k * Math.PI) / (n + 1))))).toBeLessThan(1e-12);
  });
});

describe('only the lower triangle of A is read', () => {
  for (const which of BACKENDS) {
    it(`${which}: cholesky and eigh ignore NaN and garbage above the diagonal`, async () => {
      const be = b[which];
      const n = 17;
      const rng = new Rng(31);
      const clean = stack([spdMatrix(rng, n, 100), spdMatrix(rng, n, 100)]);
      const dirty = clean.slice();
      for (let m = 0; m < 2; m++)
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) dirty[m * n * n + i * n + j] = m === 0 ? NaN : 1e30;
      const [ca, da] = [upload(which, clean, [2, n, n]), upload(which, dirty, [2, n, n])];
      expect(Array.from(await be.cholesky(da).factor.read())).toEqual(Array.from(await be.cholesky(ca).factor.read()));
      const [ce, de] = [be.eigh(ca), be.eigh(da)];
      expect(Array.from(await de.values.read())).toEqual(Array.from(await ce.values.read()));
      expect(Array.from(await de.vectors.read())).toEqual(Array.from(await ce.vectors.read()));
    });
  }
});

describe('shape rules', () => {
  for (const which of BACKENDS) {
    it(`${which}: clear errors for bad shapes and dtypes`, () => {
      const be = b[which];
      expect(() => be.cholesky(be.zeros([3, 4]))).toThrow(ShapeError);
      expect(() => be.cholesky(be.zeros([3, 4]))).toThrow(/cholesky: A \[3, 4\] is not square/);
      expect(() => be.eigh(be.zeros([4]))).toThrow(/eigh: A \[4\] .*expected rank at least 2/);
      expect(() => be.cholesky(be.zeros([2, 2], 'int32'))).toThrow(/cholesky: A: expected float32 or float64, got int32/);
      expect(() => be.triangularSolve(be.zeros([2, 3, 3]), be.zeros([3, 3, 1]))).toThrow(
        /triangularSolve: B \[3, 3, 1\] does not fit L \[2, 3, 3\]/,
      );
      expect(() => be.triangularSolve(be.zeros([3, 3]), be.zeros([4, 1]))).toThrow(/expected \[3, k\]/);
      expect(() => be.triangularSolve(be.zeros([3, 3]), be.zeros([3]))).toThrow(ShapeError);
      expect(() => be.choleskyInverse(be.zeros([2, 3]))).toThrow(/choleskyInverse: L \[2, 3\] is not square/);
    });
  }
});
