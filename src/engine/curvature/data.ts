// A data set for the curvature toolkit: a sequence of batches made on demand (a task's training
// batches, or plain forward/loss pairs such as a `factors` case), with the bookkeeping that lets
// running sums over batches equal one batch of all the data (docs/curvature-tools.md §0).
import type { Variable } from '../autograd/variable.ts';
import type { PlacedTask } from '../lab/tasks/definition.ts';
import { mseTerms, type LossTargets } from '../nn/losses.ts';
import type { Module } from '../nn/module.ts';

/** One batch: a forward pass of the model and the loss targets (a task's TrainBatch is one). */
export interface CurvatureBatch {
  forward: () => Variable;
  loss: LossTargets;
  /** Frees what the batch uploaded; the toolkit calls it when done with the batch. */
  dispose?(): void;
}

/**
 * A data set as batches, each made on demand so that only one is on the device at a time.
 * `taskData` and `batchList` make one.
 */
export interface CurvatureData {
  /** Number of batches. */
  readonly batches: number;
  /** Batch i (0 ≤ i < batches); the toolkit disposes it when done. */
  batch(index: number): CurvatureBatch;
}

export interface Progress {
  /** Batches finished. */
  done: number;
  total: number;
}

/** Progress and cancellation of a long computation. */
export interface RunControl {
  onProgress?: (progress: Progress) => void;
  /** Aborting rejects with an AbortError (checked between batches); what was made is freed. */
  signal?: AbortSignal;
}

/**
 * A task's training examples as batches of at most `batchSize` (the last may be smaller):
 * `examples` is a count (the first n training examples) or explicit indices. A full-batch task
 * (GCN: every batch is the whole graph) must be given one batch (examples ≤ batchSize), or the
 * graph would be counted once per batch.
 */
export function taskData<M extends Module>(
  task: PlacedTask<M>,
  model: M,
  options: { examples: number | Int32Array; batchSize: number },
): CurvatureData {
  const indices = typeof options.examples === 'number' ? Int32Array.from({ length: options.examples }, (_, i) => i) : options.examples;
  const size = Math.floor(options.batchSize);
  if (!(size >= 1)) throw new Error(`taskData: batchSize must be a positive integer, got ${options.batchSize}`);
  if (indices.length === 0) throw new Error('taskData: no examples');
  return {
    batches: Math.ceil(indices.length / size),
    batch: (i) => task.batch(model, indices.subarray(i * size, Math.min(indices.length, (i + 1) * size))),
  };
}

/** Plain forward/loss pairs as a data set (e.g. the one batch of a `factors` JSON case); not disposed by the toolkit. */
export function batchList(batches: readonly Omit<CurvatureBatch, 'dispose'>[]): CurvatureData {
  if (batches.length === 0) throw new Error('batchList: no batches');
  return { batches: batches.length, batch: (i) => ({ forward: batches[i].forward, loss: batches[i].loss }) };
}

/** The loss terms of one batch: M (non-ignored terms), C (outputs per term) and c = scale(M, C). */
export interface BatchTerms {
  terms: number;
  outputs: number;
  scale: number;
}

/**
 * The loss scale of a batch with outputs of `shape` (docs/kfac.md §3). Cross-entropy reads the
 * targets back to count the non-ignored terms.
 */
export async function batchTerms(loss: LossTargets, shape: readonly number[]): Promise<BatchTerms> {
  if (loss.spec.kind === 'mse') {
    const { M, C } = mseTerms(shape);
    return { terms: M, outputs: C, scale: loss.spec.scale(M, C) };
  }
  const C = shape[shape.length - 1];
  const labels = await loss.targets.read();
  let M = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) M++;
  return { terms: M, outputs: C, scale: loss.spec.scale(M, C) };
}

/**
 * Running sums of quantities that carry the loss scale c of their batch (G, Λ): accumulate
 * X_b / c_b, the quantity of the summed loss, and scale by the c of all the data at the end — so the
 * result equals one batch of all the data for sum and mean reductions alike.
 */
export class LossScaleTracker {
  private terms = 0;
  private outputs: number | null = null;
  private spec: LossTargets['spec'] | null = null;

  /** Record a batch; returns 1 / c_b (0 when the batch has no loss terms). */
  add(loss: LossTargets, t: BatchTerms): number {
    if (this.spec && (this.spec.kind !== loss.spec.kind || this.spec.reduction !== loss.spec.reduction)) {
      throw new Error(
        `curvature data: batches mix losses (${this.spec.kind}/${this.spec.reduction} and ${loss.spec.kind}/${loss.spec.reduction})`,
      );
    }
    if (this.outputs !== null && this.outputs !== t.outputs) {
      throw new Error(`curvature data: batches have ${this.outputs} and ${t.outputs} outputs per loss term`);
    }
    this.spec = loss.spec;
    this.outputs = t.outputs;
    this.terms += t.terms;
    return t.terms > 0 ? 1 / t.scale : 0;
  }

  get totalTerms(): number {
    return this.terms;
  }

  /** c of all the data (1 before any batch with terms). */
  get scale(): number {
    return this.spec && this.outputs !== null && this.terms > 0 ? this.spec.scale(this.terms, this.outputs) : 1;
  }
}

/** Throws the standard AbortError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new DOMException(`${what}: cancelled`, 'AbortError');
}

/** Let other work (a worker's cancel message, the UI) run between batches. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Runs `use` on every batch in order: checks for cancellation before each, disposes each batch
 * after it, reports progress and yields to the event loop between batches, and checks once more at
 * the end (so a cancel during the last batch is not lost).
 */
export async function forEachBatch(
  data: CurvatureData,
  control: RunControl,
  what: string,
  use: (batch: CurvatureBatch, i: number) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < data.batches; i++) {
    throwIfAborted(control.signal, what);
    const batch = data.batch(i);
    try {
      await use(batch, i);
    } finally {
      batch.dispose?.();
    }
    control.onProgress?.({ done: i + 1, total: data.batches });
    await yieldToEventLoop();
  }
  throwIfAborted(control.signal, what);
}
