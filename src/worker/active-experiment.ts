// What the lab session (lab-session.ts) and its device-loss recovery (device-recovery.ts) share about
// the experiment in progress: its record from 'started' until it is disposed, and the controller
// that yields a macrotask between interleaved steps.
import { ExperimentController } from '../engine/lab/controller.ts';
import type { Experiment } from '../engine/lab/experiment.ts';
import type { ExperimentResult } from '../engine/lab/results.ts';
import type { CurvatureSchedule } from './curvature-snapshots.ts';
import type { MetricBatcher } from './metric-batcher.ts';

/** Resolve on a fresh macrotask (not clamped like nested setTimeout(0) in browsers). */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    if (!yieldChannel) {
      yieldChannel = new MessageChannel();
      yieldChannel.port1.onmessage = () => yieldWaiters.shift()?.();
    }
    yieldWaiters.push(resolve);
    yieldChannel.port2.postMessage(null);
  });
}
let yieldChannel: MessageChannel | null = null;
const yieldWaiters: (() => void)[] = [];

/** The runner's controller, plus a macrotask between steps and a hook when it is about to wait while paused. */
export class SessionController extends ExperimentController {
  constructor(private readonly beforePausedWait: () => void) {
    super();
  }

  override async waitWhilePaused(): Promise<void> {
    await yieldToEventLoop();
    // The points of the step just taken (a single step, typically) should not wait for the timer.
    if (this.paused && !this.stopped) this.beforePausedWait();
    return super.waitWhilePaused();
  }
}

export type StopReason = 'reset' | 'restart' | 'device-lost';

/** One experiment, from 'started' until it is disposed; after a lost device its runs continue in a new Experiment. */
export interface ActiveExperiment {
  experiment: Experiment;
  controller: SessionController;
  readonly steps: number;
  readonly metrics: MetricBatcher;
  readonly curvature: CurvatureSchedule;
  /** Runs cut short by the lost device (their run-end is held back: they resume). */
  readonly interrupted: Set<number>;
  /** run() is in progress (or the runs are being moved to a new device). */
  running: boolean;
  /** Resolves when run() has returned and 'done' was posted (or the runs were handed to a new device). */
  finished: Promise<void>;
  stopReason: StopReason | null;
  /** run() returned after the device was lost: its result waits for the runs to resume (or to end). */
  handedOver: ExperimentResult | null;
  disposed: boolean;
}

export function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
