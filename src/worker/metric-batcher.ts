// Metric points of a running experiment, batched for the page: buffered and posted as one
// 'metrics' + 'phases' pair at most every FLUSH_INTERVAL_MS, and at once when asked (pause, a run's
// end, the experiment's end). A run's end waits for its run's last points (the runner ends a run
// before it reports its last step), so the page always sees the points before the run-end.
//
// After a lost device the runs resume from their last host copy and recompute the steps after it;
// the page already has those steps, so points at or before a run's last posted step are dropped
// with their phase times, so the totals posted cover the steps posted (the final result carries the
// recomputed values).
import type { MetricPoint, RunResult } from '../engine/lab/results.ts';
import { packMetrics, type LabEvent } from './protocol.ts';

export const FLUSH_INTERVAL_MS = 50;

export type PostEvent = (event: LabEvent, transfer?: Transferable[]) => void;

export class MetricBatcher {
  /** Per run: the last step posted to the page (or about to be). */
  readonly stepsDone: number[];
  /** Per run: ms per phase so far. */
  private readonly phaseTotals: Record<string, number>[];
  private readonly points: MetricPoint[] = [];
  private readonly runEnds: { run: number; result: RunResult }[] = [];
  private lastFlush = performance.now();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;

  constructor(
    runs: number,
    private readonly post: PostEvent,
  ) {
    this.stepsDone = new Array<number>(runs).fill(0);
    this.phaseTotals = Array.from({ length: runs }, () => ({}));
  }

  /** Take the points of one interleaved step; posts at once when a run end is waiting, else within the interval. */
  add(points: readonly MetricPoint[]): void {
    for (const p of points) {
      if (p.step <= this.stepsDone[p.run]) continue; // a recomputed step after a resume
      this.points.push(p);
      this.stepsDone[p.run] = p.step;
      if (p.phaseMs) {
        const totals = this.phaseTotals[p.run];
        for (const [phase, ms] of Object.entries(p.phaseMs)) totals[phase] = (totals[phase] ?? 0) + ms;
      }
    }
    if (this.runEnds.length > 0) this.flushWithRunEnds();
    else this.schedule();
  }

  /** A run ended: its run-end is posted after its last points. */
  addRunEnd(run: number, result: RunResult): void {
    this.runEnds.push({ run, result });
  }

  /** Post the metrics so far, then the run ends that waited for them. */
  flushWithRunEnds(): void {
    this.flush();
    for (const { run, result } of this.runEnds.splice(0)) this.post({ type: 'run-end', run, result });
  }

  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.points.length === 0 || this.disposed) return;
    const { batch, transfer } = packMetrics(this.points.splice(0));
    this.lastFlush = performance.now();
    this.post({ type: 'metrics', batch }, transfer);
    this.post({ type: 'phases', totals: this.phaseTotals.map((t) => ({ ...t })) });
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer !== null || this.disposed) return;
    const wait = Math.max(0, FLUSH_INTERVAL_MS - (performance.now() - this.lastFlush));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }
}
