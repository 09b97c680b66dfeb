// Time per Laplace fit against R (src/engine/tools/marglik/fit-scaling.ts): the models are built at
// the sizes they claim (R positions per convolution or tokens per layer), and the measurement returns
// one row per model and flavour with its parts. Speed itself is the benchmark's (bench/marglik.ts).
import { describe, expect, it } from 'vitest';
import { constant } from '../../src/engine/autograd/variable.ts';
import { withCurvatureCapture } from '../../src/engine/nn/curvature-hook.ts';
import { laplaceFitScaling, paddedImages, SCALING_CASES } from '../../src/engine/tools/marglik/fit-scaling.ts';
import { scope } from '../../src/engine/tensor.ts';
import { useBackends } from '../helpers/backends.ts';

const b = useBackends();

describe('Laplace fit scaling', () => {
  it('every case shares its layers over R positions (ViT tokens, CNN positions)', () => {
    for (const c of SCALING_CASES) {
      const model = c.build(b.wasm);
      try {
        const positions = scope(() => {
          const seen: number[] = [];
          const x = b.wasm.tensor(new Float32Array(2 * c.size * c.size), [2, 1, c.size, c.size]);
          withCurvatureCapture({ capture: (cap) => void seen.push(cap.layout.kind === 'dense' ? cap.layout.positions : -1) }, () =>
            model.forward(constant(x)),
          );
          return seen;
        });
        // Every shared layer sees R positions; the head sees one per image.
        expect(
          positions.filter((p) => p > 1).every((p) => p === c.R),
          c.model,
        ).toBe(true);
        expect(positions.filter((p) => p === c.R).length, c.model).toBeGreaterThanOrEqual(2);
      } finally {
        model.dispose();
      }
    }
  });

  it('pads MNIST to 32×32 and average-pools it', () => {
    const image = new Float32Array(784).fill(1);
    expect(Array.from(paddedImages(image, 1, 32)).reduce((s, v) => s + v, 0)).toBe(784);
    const pooled = paddedImages(image, 1, 4); // 8×8 blocks; the corner blocks hold 6×6 image pixels
    expect(pooled[0]).toBeCloseTo(36 / 64, 6);
    expect(pooled[5]).toBe(1);
  });

  it('times expand and reduce fits: one row per model and flavour, with its parts', async () => {
    const rows = await laplaceFitScaling(b.wasm, { families: ['cnn'], maxR: 16, examples: 8, batch: 8, repeats: 1 });
    expect(rows.map((r) => [r.model, r.R, r.approx])).toEqual([
      ['CNN 4×4 conv32-conv64-GAP', 16, 'expand'],
      ['CNN 4×4 conv32-conv64-GAP', 16, 'reduce'],
    ]);
    for (const r of rows) for (const t of [r.fitMs, r.lossMs, r.factorsMs, r.eigenMs]) expect(t).toBeGreaterThan(0);
  }, 60_000);
});
