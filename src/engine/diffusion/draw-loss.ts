// Per-point diffusion losses over fixed draws (docs/curvature-tools.md §3): for each point,
// (1/R) Σ_r w_r ‖ε_r − ε_θ(x_{t_r}, t_r)‖² (w = 1 for the simple loss, w_t for the ELBO), on the
// device without gradients, read back once per batch. What the LDS measures and what the page shows.
import { noGrad } from '../autograd/variable.ts';
import { readAndDispose, scope } from '../tensor.ts';
import type { MlpDenoiser } from './denoiser.ts';
import { drawBatch, gatherPoints, selectDraws, type Draws, type LossWeighting } from './draws.ts';
import type { NoiseSchedule } from './schedule.ts';

/** Each point's loss averaged over its R draws: [N] (float64 host values). */
export async function drawLosses(
  model: MlpDenoiser,
  schedule: NoiseSchedule,
  points: Float32Array,
  draws: Draws,
  options: { weighting?: LossWeighting; batchSize?: number } = {},
): Promise<Float64Array> {
  const count = draws.examples;
  if (points.length !== count * 2) throw new Error(`drawLosses: ${points.length / 2} points for ${count} examples of draws`);
  const size = options.batchSize ?? 256;
  const out = new Float64Array(count);
  for (let start = 0; start < count; start += size) {
    const rows = Int32Array.from({ length: Math.min(size, count - start) }, (_, i) => start + i);
    const batch = drawBatch(model, schedule, gatherPoints(points, rows), selectDraws(draws, rows), { weighting: options.weighting });
    try {
      const perPoint = scope(() =>
        noGrad(() => {
          const be = model.backend;
          const residual = be.binary('sub', batch.forward().value, batch.loss.targets);
          const squares = be.unary('square', residual);
          // [B, R, 2] → [B]: sum the coordinates and the draws, then divide by R.
          return be.binaryScalar('mul', be.reduce('sum', be.reduce('sum', squares, 2), 1), 1 / draws.draws);
        }),
      );
      out.set(await readAndDispose(perPoint), start);
    } finally {
      batch.dispose();
    }
  }
  return out;
}
