import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { parameter } from '../../src/engine/autograd/variable.ts';
import { ClippedOptimizer, clipGradNorm, globalGradNorm, withGradClipping } from '../../src/engine/optim/clipping.ts';
import { SGD } from '../../src/engine/optim/sgd.ts';
import type { NamedParameter } from '../../src/engine/optim/optimizer.ts';
import { Rng } from '../../src/engine/random.ts';
import { scope } from '../../src/engine/tensor.ts';
import { useBackends } from '../helpers/backends.ts';
import { expectClose } from '../helpers/compare.ts';

const backends = useBackends();

const SHAPES = [[17, 3], [65], [1], [2, 63]];

function randomGrads(seed: number, scale: number): Float64Array[] {
  const rng = new Rng(seed);
  return SHAPES.map((s) =>
    rng.uniformArray(
      s.reduce((a, b) => a * b, 1),
      -scale,
      scale,
    ),
  );
}

function norm(arrays: ArrayLike<number>[]): number {
  let s = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

describe('gradient-norm clipping', () => {
  for (const name of ['cpu', 'gpu'] as const) {
    it(`scales the gradients to the max norm when above it, and leaves them when below (${name})`, async () => {
      const be: Backend = backends[name];
      const host = randomGrads(1, 1);
      const total = norm(host);
      const grads = host.map((g, i) => be.tensor(g, SHAPES[i]));
      const measured = globalGradNorm(grads);
      expect((await measured.read())[0]).toBeCloseTo(total, 4);
      measured.dispose();

      const maxNorm = total / 3;
      const clipped = clipGradNorm(grads, maxNorm);
      const values = await Promise.all(clipped.grads.map((g) => g.read()));
      expect(norm(values)).toBeCloseTo(maxNorm, 4);
      // The direction is kept: every entry is scaled by the same factor.
      values.forEach((v, i) =>
        expectClose(
          v,
          host[i].map((x) => (x * maxNorm) / total),
          { rtol: 1e-5, atol: 1e-7 },
          `clipped ${i}`,
        ),
      );
      expect((await clipped.norm.read())[0]).toBeCloseTo(total, 4);
      expect((await clipped.scale.read())[0]).toBeCloseTo(1 / 3, 5);

      const loose = clipGradNorm(grads, total * 2);
      const unchanged = await Promise.all(loose.grads.map((g) => g.read()));
      unchanged.forEach((v, i) => expectClose(v, host[i], { rtol: 1e-6, atol: 1e-7 }, `unclipped ${i}`));
      expect((await loose.scale.read())[0]).toBe(1);

      for (const t of [...grads, ...clipped.grads, clipped.norm, clipped.scale, ...loose.grads, loose.norm, loose.scale]) t.dispose();
    });
  }

  it('a single gradient and zero gradients', async () => {
    const { cpu } = backends;
    const g = cpu.tensor([3, 4], [2]);
    expect((await globalGradNorm([g]).read())[0]).toBe(5);
    const zero = cpu.zeros([3]);
    const { grads, scale } = clipGradNorm([zero], 1);
    expect(Array.from(await grads[0].read())).toEqual([0, 0, 0]);
    expect((await scale.read())[0]).toBe(1);
    expect(() => clipGradNorm([g], 0)).toThrow(/maxNorm must be a positive number/);
    expect(() => globalGradNorm([])).toThrow(/no gradients/);
  });

  it('ClippedOptimizer clips before the inner step and reports the norm', async () => {
    const { cpu } = backends;
    const inner = new SGD({ lr: 1, momentum: 0, nesterov: false, weightDecay: 0 });
    const optimizer = withGradClipping(inner, 1);
    expect(optimizer).toBeInstanceOf(ClippedOptimizer);
    expect(withGradClipping(inner, 0)).toBe(inner);
    const p: NamedParameter = { name: 'w', variable: parameter(cpu.tensor([0, 0], [2], 'float64')) };
    scope(() => optimizer.step([p], [cpu.tensor([30, 40], [2], 'float64')], 0));
    expectClose(await p.variable.value.read(), [-0.6, -0.8], { rtol: 1e-6 });
    expect((await (optimizer as ClippedOptimizer).lastNorm!.read())[0]).toBeCloseTo(50, 10);
    const before = cpu.memory().liveTensors;
    optimizer.dispose();
    expect(cpu.memory().liveTensors).toBe(before - 1); // the kept norm
  });
});
