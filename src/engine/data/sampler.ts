// Seeded minibatch order. A comparison trains several optimizers on the same data stream: each
// gets its own BatchSampler with the same (size, batchSize, seed), and `order(epoch)` is a pure
// function of (seed, epoch), so every optimizer sees exactly the same batches in the same order,
// however far it has got and in whatever order epochs are asked for. Validation sets are never
// shuffled: use `shuffle: false` or `sequentialBatches`.
import { DataError, permutation, requireInt, requireSeed, streamRng } from './common.ts';

export interface BatchSamplerOptions {
  /** Number of examples in the data set. */
  size: number;
  batchSize: number;
  /** Seed of the per-epoch shuffles (ignored when shuffle is false). */
  seed?: number;
  /** Reshuffle every epoch (default true). False: examples in stored order (validation). */
  shuffle?: boolean;
  /** Drop the last, short batch of an epoch (default false), so every step sees batchSize examples. */
  dropLast?: boolean;
}

/** One step's batch: which epoch it belongs to, its position in the epoch, and the example indices. */
export interface StepBatch {
  epoch: number;
  batchInEpoch: number;
  indices: Int32Array;
}

export class BatchSampler {
  readonly size: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** Batches in one epoch (the last may be short unless dropLast). */
  readonly batchesPerEpoch: number;
  private cachedEpoch = -1;
  private cachedOrder: Int32Array | null = null;

  constructor(options: BatchSamplerOptions) {
    const where = 'BatchSampler';
    if (!options || typeof options !== 'object') throw new DataError(`${where}: expected an options object { size, batchSize, seed }`);
    this.size = requireInt(where, 'size', options.size, 1);
    this.batchSize = requireInt(where, 'batchSize', options.batchSize, 1);
    this.seed = requireSeed(where, options.seed ?? 0);
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    this.batchesPerEpoch = this.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new DataError(`BatchSampler: batchSize ${this.batchSize} exceeds size ${this.size} with dropLast, so an epoch has no batch`);
    }
  }

  /** Every index 0..size-1 once, in this epoch's order: a pure function of (seed, epoch). */
  order(epoch: number): Int32Array {
    requireInt('BatchSampler.order', 'epoch', epoch, 0, 0xffffffff);
    if (!this.shuffle) return Int32Array.from({ length: this.size }, (_, i) => i);
    return permutation(this.size, streamRng(this.seed, 0x5a3d1e, epoch));
  }

  /** The epoch's batches (fresh arrays the caller may keep). */
  batches(epoch: number): Int32Array[] {
    const order = this.order(epoch);
    const out: Int32Array[] = [];
    for (let b = 0; b < this.batchesPerEpoch; b++) out.push(order.slice(b * this.batchSize, Math.min((b + 1) * this.batchSize, this.size)));
    return out;
  }

  /**
   * The batch of global step `step` (0-based) when training runs epoch after epoch: what a runner
   * that counts steps rather than epochs asks for. Caches the current epoch's order.
   */
  batchAtStep(step: number): StepBatch {
    requireInt('BatchSampler.batchAtStep', 'step', step, 0);
    const epoch = Math.floor(step / this.batchesPerEpoch);
    const batchInEpoch = step - epoch * this.batchesPerEpoch;
    if (epoch !== this.cachedEpoch || !this.cachedOrder) {
      this.cachedOrder = this.order(epoch);
      this.cachedEpoch = epoch;
    }
    const start = batchInEpoch * this.batchSize;
    return { epoch, batchInEpoch, indices: this.cachedOrder.slice(start, Math.min(start + this.batchSize, this.size)) };
  }
}

/** Batches of 0..size-1 in stored order, the last one short: for evaluating fixed validation sets. */
export function sequentialBatches(size: number, batchSize: number): Int32Array[] {
  return new BatchSampler({ size, batchSize, shuffle: false }).batches(0);
}
