// The 2-D data sets of the diffusion model (docs/curvature-tools.md §3): unlabelled point clouds
// drawn from the lab's toy generators (src/engine/data/toys.ts), seeded.
//   spirals:      both arms of the two spirals (radius ≤ 1, noise 0.03), labels dropped;
//   checkerboard: points uniform on the dark cells of a 4 × 4 board on [−1, 1]².
import { checkerboardLabel, makeSpirals } from '../data/toys.ts';
import { streamRng } from '../data/common.ts';
import { POINT_DIM } from './denoiser.ts';

export const POINT_CLOUDS = ['spirals', 'checkerboard'] as const;
export type PointCloudId = (typeof POINT_CLOUDS)[number];

export interface PointCloudOptions {
  id: PointCloudId;
  /** Number of points (even for spirals). */
  count: number;
  seed: number;
}

/** [count, 2] row-major. */
export function pointCloud(options: PointCloudOptions): Float32Array {
  const { id, count, seed } = options;
  if (!(Number.isInteger(count) && count >= 2 && count <= 100_000))
    throw new Error(`pointCloud: count must be a whole number from 2 to 100000, got ${count}`);
  if (id === 'spirals') {
    if (count % 2 !== 0) throw new Error(`pointCloud: spirals need an even count (two arms), got ${count}`);
    return makeSpirals({ seed, pointsPerArm: count / 2, valPointsPerArm: 1, noise: 0.03 }).train.inputs;
  }
  if (id === 'checkerboard') {
    const rng = streamRng(seed, 0xc4ec);
    const out = new Float32Array(count * POINT_DIM);
    for (let n = 0; n < count;) {
      const x = Math.fround(rng.uniform(-1, 1));
      const y = Math.fround(rng.uniform(-1, 1));
      if (checkerboardLabel(x, y, 4) !== 0) continue;
      out[n * POINT_DIM] = x;
      out[n * POINT_DIM + 1] = y;
      n++;
    }
    return out;
  }
  throw new Error(`pointCloud: unknown point cloud "${String(id)}" (known: ${POINT_CLOUDS.join(', ')})`);
}
