// The live metrics of an experiment, held outside React: the worker's batches are appended here and the
// charts redraw from it on a throttled notification, so a training step never re-renders a component.

import type { OptimizerId } from '../../engine/optim/schema.ts';
import type { MetricsBatch } from '../../worker/protocol.ts';
import { throttle, type Throttled } from './throttle.ts';

export interface RunMeta {
  label: string;
  optimizer: OptimizerId;
}

/** One run's points: every step in step/trainLoss/timeMs; the evaluated steps only in valStep/valMetric/valTimeMs. */
export interface RunSeries {
  step: number[];
  trainLoss: number[];
  /** The run's own training time so far, ms. */
  timeMs: number[];
  valStep: number[];
  valMetric: number[];
  valTimeMs: number[];
}

/** A K-FAC run's KL-clip scale ν per step (below 1 the clip, not the learning rate, set the step); empty for other runs. */
export interface KlScaleSeries {
  step: number[];
  scale: number[];
}

/** Listeners hear of new data at most this often: charts redraw at about 10 Hz. */
export const NOTIFY_INTERVAL_MS = 100;

function emptySeries(): RunSeries {
  return { step: [], trainLoss: [], timeMs: [], valStep: [], valMetric: [], valTimeMs: [] };
}

export class MetricSeries {
  private runList: readonly RunMeta[] = [];
  private data: RunSeries[] = [];
  private kl: KlScaleSeries[] = [];
  private points = 0;
  private resets = 0;
  private readonly listeners = new Set<() => void>();
  private readonly notifier: Throttled;

  constructor(options: { notifyIntervalMs?: number } = {}) {
    this.notifier = throttle(() => {
      for (const listener of [...this.listeners]) listener();
    }, options.notifyIntervalMs ?? NOTIFY_INTERVAL_MS);
  }

  get runs(): readonly RunMeta[] {
    return this.runList;
  }

  /** Counts resets: a chart seeing it change knows the old curves are gone (and resets its zoom). */
  get generation(): number {
    return this.resets;
  }

  /** Forget all points and start over with these runs (an experiment started, or the lab was reset). */
  reset(runs: readonly RunMeta[]): void {
    this.runList = runs.map((r) => ({ label: r.label, optimizer: r.optimizer }));
    this.data = runs.map(emptySeries);
    this.kl = runs.map(() => ({ step: [], scale: [] }));
    this.points = 0;
    this.resets++;
    this.notifier.request();
  }

  /**
   * Append a batch of (run, step) points, runs interleaved in any order. valMetric NaN means the step was not
   * evaluated. Points of runs this series does not know (a late batch from before a reset) are dropped.
   */
  append(batch: MetricsBatch): void {
    const count = batch.run.length;
    let added = 0;
    for (let i = 0; i < count; i++) {
      const target = this.data[batch.run[i]];
      if (target === undefined) continue;
      const step = batch.step[i];
      const timeMs = batch.elapsedMs[i];
      target.step.push(step);
      target.trainLoss.push(batch.trainLoss[i]);
      target.timeMs.push(timeMs);
      const val = batch.valMetric[i];
      if (!Number.isNaN(val)) {
        target.valStep.push(step);
        target.valMetric.push(val);
        target.valTimeMs.push(timeMs);
      }
      const nu = batch.klScale?.[i] ?? Number.NaN;
      if (!Number.isNaN(nu)) {
        this.kl[batch.run[i]].step.push(step);
        this.kl[batch.run[i]].scale.push(nu);
      }
      added++;
    }
    this.points += added;
    if (added > 0) this.notifier.request();
  }

  /** A run's points (the live arrays: read them, do not change them). Unknown runs read as empty. */
  series(run: number): Readonly<RunSeries> {
    return this.data[run] ?? emptySeries();
  }

  /** A run's KL-clip scales (live arrays: read only). Runs without them, and unknown runs, read as empty. */
  klSeries(run: number): Readonly<KlScaleSeries> {
    return this.kl[run] ?? { step: [], scale: [] };
  }

  /** Listeners are told at most once per NOTIFY_INTERVAL_MS (on a timer, never once per point); returns unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Total (run, step) points held (for the test hook). */
  pointCount(): number {
    return this.points;
  }

  /** Stop notifying (the page is going away). */
  dispose(): void {
    this.notifier.dispose();
    this.listeners.clear();
  }
}
