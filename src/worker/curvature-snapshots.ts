// When to take the curvature panel's snapshot (engine/curvature/snapshot.ts) of the selected run and
// layer: every `every` steps of that run while it trains, at once when the selection changes while
// paused or after the end, and once more at the end. One snapshot is in flight at a time; a
// selection that changes meanwhile marks the schedule dirty and is served next. Only runs whose
// optimizer keeps factors (its `curvature` capability: K-FAC) have any: for any other run nothing is sent.
import { curvatureSnapshot } from '../engine/curvature/snapshot.ts';
import type { MetricPoint } from '../engine/lab/results.ts';
import type { Optimizer } from '../engine/optim/optimizer.ts';
import type { LabEvent } from './protocol.ts';

export interface CurvatureRequest {
  run: number;
  /** null: the run's first K-FAC layer. */
  layer: string | null;
  every: number;
}

/** What the schedule reads from the session and its current experiment. */
export interface SnapshotHost {
  /** The panel's selection (kept across experiments). */
  request(): CurvatureRequest | null;
  optimizers(): readonly Optimizer[];
  /** Steps the run has completed so far. */
  stepOf(run: number): number;
  /** Nothing is stepping (paused or finished): a selection is answered at once. */
  idle(): boolean;
  /** The experiment is gone, or its device was lost: no results, no errors. */
  gone(): boolean;
  post(event: LabEvent): void;
  error(messages: string[]): void;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** The snapshot schedule of one experiment. */
export class CurvatureSchedule {
  private inFlight = false;
  /** The selection changed (or a run just resumed): take a snapshot at the next opportunity. */
  private dirty = true;

  constructor(private readonly host: SnapshotHost) {}

  /** The selection changed: answer now when nothing steps, else at the selected run's next step. */
  selectionChanged(): void {
    this.dirty = true;
    if (this.host.idle()) this.take();
  }

  /** After an interleaved step: a snapshot when the selected run reached a multiple of `every` (or one is owed). */
  afterStep(points: readonly MetricPoint[]): void {
    const request = this.host.request();
    const point = request && points.find((p) => p.run === request.run);
    if (point && (this.dirty || point.step % request.every === 0)) this.take();
  }

  /** The experiment ended: the panel shows the final curvature, not the last multiple of `every`. */
  atEnd(): void {
    this.dirty = true;
    this.take();
  }

  /** A snapshot of the selected run and layer, unless one is in flight or the run keeps no factors. */
  take(): void {
    const host = this.host;
    const request = host.request();
    if (!request || this.inFlight || host.gone()) return;
    const curvature = host.optimizers()[request.run]?.curvature;
    if (!curvature) {
      this.dirty = false;
      return;
    }
    const layerNames = curvature.layerNames;
    const layer = request.layer ?? layerNames[0];
    if (layer === undefined) return; // no factors before the first step: stay dirty
    if (layerNames.length > 0 && !layerNames.includes(layer)) {
      this.dirty = false;
      host.error([`curvature.layer: run ${request.run} has no K-FAC layer "${layer}" (layers: ${layerNames.join(', ')})`]);
      return;
    }
    const step = host.stepOf(request.run);
    this.dirty = false;
    this.inFlight = true;
    curvatureSnapshot(curvature, layer)
      .then((snapshot) => {
        if (host.gone() || !snapshot) return;
        const now = host.request();
        if (now && now.run === request.run && (now.layer ?? layer) === layer) {
          host.post({ type: 'curvature', run: request.run, step, snapshot });
        } else this.dirty = true; // the selection changed meanwhile
      })
      .catch((e: unknown) => {
        if (!host.gone()) host.error([`curvature snapshot failed: ${describe(e)}`]);
      })
      .finally(() => {
        this.inFlight = false;
        if (this.dirty && !host.gone() && host.idle()) this.take();
      });
  }
}
