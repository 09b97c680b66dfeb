/**
 * 2-D toy classification sets for the MLP, TensorFlow-Playground style. Inputs lie roughly in
 * [−1, 1]²; labels are 0/1.
 *
 * Two spirals: two interleaved arms, arm c at angle θ = 2π·turns·t + cπ and radius t for t uniform in
 * [0.05, 1], plus Gaussian noise (std `noise`) on both coordinates. n points per arm.
 *
 * Checkerboard: points uniform in [−1, 1]², label = parity of the cell in a cells × cells board
 * (default 4 × 4).
 *
 * The train and validation sets are drawn from independent seeded streams of the same seed, so the
 * validation set is fixed (it does not change with the train size) and is never shuffled. Points
 * are stored class-interleaved (spirals) or in draw order (checkerboard); a BatchSampler supplies
 * the training order.
 */
import { DataError, requireInt, requireNumber, requireSeed, streamRng } from './common.ts';
import type { Rng } from '../random.ts';

export interface PointSplit {
  /** [count, 2] row-major. */
  inputs: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface ToyDataset {
  train: PointSplit;
  val: PointSplit;
  inputDim: 2;
  numClasses: 2;
}

export interface SpiralOptions {
  seed: number;
  /** Training points per arm (default 200). */
  pointsPerArm?: number;
  /** Validation points per arm (default 200). */
  valPointsPerArm?: number;
  /** Noise std (default 0.05). */
  noise?: number;
  /** Turns of each arm (default 1.5). */
  turns?: number;
}

export interface CheckerboardOptions {
  seed: number;
  /** Training points (default 800). */
  points?: number;
  /** Validation points (default 800). */
  valPoints?: number;
  /** Cells per side (default 4). */
  cells?: number;
}

function spiralSplit(rng: Rng, perArm: number, noise: number, turns: number): PointSplit {
  const count = 2 * perArm;
  const inputs = new Float32Array(count * 2);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const arm = i % 2;
    const t = 0.05 + 0.95 * rng.next();
    const angle = 2 * Math.PI * turns * t + arm * Math.PI;
    inputs[2 * i] = t * Math.cos(angle) + noise * rng.normal();
    inputs[2 * i + 1] = t * Math.sin(angle) + noise * rng.normal();
    labels[i] = arm;
  }
  return { inputs, labels, count };
}

export function makeSpirals(options: SpiralOptions): ToyDataset {
  const where = 'makeSpirals';
  if (!options || typeof options !== 'object') throw new DataError(`${where}: expected an options object`);
  const seed = requireSeed(where, options.seed);
  const perArm = requireInt(where, 'pointsPerArm', options.pointsPerArm ?? 200, 1, 1_000_000);
  const valPerArm = requireInt(where, 'valPointsPerArm', options.valPointsPerArm ?? 200, 1, 1_000_000);
  const noise = requireNumber(where, 'noise', options.noise ?? 0.05, 0, 10);
  const turns = requireNumber(where, 'turns', options.turns ?? 1.5, 0, 100);
  return {
    train: spiralSplit(streamRng(seed, 30), perArm, noise, turns),
    val: spiralSplit(streamRng(seed, 31), valPerArm, noise, turns),
    inputDim: 2,
    numClasses: 2,
  };
}

/** Label of a point on the board: parity of its cell. */
export function checkerboardLabel(x: number, y: number, cells: number): number {
  const cell = (v: number) => Math.min(cells - 1, Math.max(0, Math.floor(((v + 1) / 2) * cells)));
  return (cell(x) + cell(y)) % 2;
}

function checkerSplit(rng: Rng, count: number, cells: number): PointSplit {
  const inputs = new Float32Array(count * 2);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    inputs[2 * i] = rng.uniform(-1, 1);
    inputs[2 * i + 1] = rng.uniform(-1, 1);
    // Label the stored float32 coordinates, so a point on a cell border gets the label of what the model sees.
    labels[i] = checkerboardLabel(inputs[2 * i], inputs[2 * i + 1], cells);
  }
  return { inputs, labels, count };
}

export function makeCheckerboard(options: CheckerboardOptions): ToyDataset {
  const where = 'makeCheckerboard';
  if (!options || typeof options !== 'object') throw new DataError(`${where}: expected an options object`);
  const seed = requireSeed(where, options.seed);
  const points = requireInt(where, 'points', options.points ?? 800, 1, 10_000_000);
  const valPoints = requireInt(where, 'valPoints', options.valPoints ?? 800, 1, 10_000_000);
  const cells = requireInt(where, 'cells', options.cells ?? 4, 1, 1000);
  return {
    train: checkerSplit(streamRng(seed, 40), points, cells),
    val: checkerSplit(streamRng(seed, 41), valPoints, cells),
    inputDim: 2,
    numClasses: 2,
  };
}
