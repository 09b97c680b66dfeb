// The lab worker's logic, free of the Worker API so that Node tests drive it through `post`: it owns
// the backend and the experiment, turns commands into runner calls and the runner's callbacks into
// events (src/worker/protocol.ts).
//
// - Metric points are buffered and flushed as one 'metrics' + 'phases' pair at most every
//   FLUSH_INTERVAL_MS, and at once at pause, at a run's end and at the experiment's end.
// - Between interleaved steps the session yields a macrotask, so pause, step and reset are handled
//   promptly even on the CPU backend, whose reads resolve without ever leaving the microtask queue.
// - Lifecycle commands (open, start, reset, the reopening after a lost device) run one at a time in
//   arrival order; pause, resume, step, curvature and lose-device act at once.
// - A finished experiment is kept (not disposed) until the next start, reset or open, so the
//   curvature panel can still look at its layers.
// - A device lost mid-run stops the experiment (the runs get a run-end with the error; continuing
//   from the last weights is not attempted: they lived on the lost device), then a new backend is
//   opened and reported.
import type { Backend } from '../engine/backend/backend.ts';
import { isKfacOptimizer } from '../engine/curvature/kfac-optimizer.ts';
import { curvatureSnapshot } from '../engine/curvature/snapshot.ts';
import {
  Experiment,
  ExperimentConfigError,
  ExperimentController,
  validateConfig,
  type ExperimentConfig,
  type ExperimentResult,
  type MetricPoint,
  type RunResult,
} from '../engine/lab/runner.ts';
import { asWebGPU, cpuBackend, openLabBackend, type BackendOpener, type OpenedBackend } from './gpu-status.ts';
import { discoverKfacLayers } from './kfac-layers.ts';
import {
  commandProblem,
  packMetrics,
  type BackendPreference,
  type BackendReport,
  type LabCommand,
  type LabEvent,
  type LabStatus,
} from './protocol.ts';

export const FLUSH_INTERVAL_MS = 50;

export type PostEvent = (event: LabEvent, transfer?: Transferable[]) => void;

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
class SessionController extends ExperimentController {
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

type StopReason = 'reset' | 'restart' | 'device-lost';

/** One experiment, from 'started' until it is disposed. */
interface ActiveExperiment {
  readonly experiment: Experiment;
  readonly controller: SessionController;
  readonly steps: number;
  /** Points not yet posted. */
  readonly points: MetricPoint[];
  /** Run ends waiting for their run's last points (the runner ends a run before it reports its last step). */
  readonly runEnds: { run: number; result: RunResult }[];
  /** Per run: ms per phase so far. */
  readonly phaseTotals: Record<string, number>[];
  /** Per run: steps completed. */
  readonly stepsDone: number[];
  lastFlush: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** run() is in progress. */
  running: boolean;
  /** Resolves when run() has returned and 'done' was posted. */
  finished: Promise<void>;
  stopReason: StopReason | null;
  snapshotInFlight: boolean;
  /** The curvature selection changed: take a snapshot at the next opportunity. */
  curvatureDirty: boolean;
  disposed: boolean;
}

interface CurvatureRequest {
  run: number;
  layer: string | null;
  every: number;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Errors a lost device produces when an op or a read fails before the loss is reported. */
const DEVICE_LOST_PATTERN = /DeviceLostError|device (is |was )?lost|lost device/i;

export class LabSession {
  private backend: Backend | null = null;
  private report: BackendReport | null = null;
  /** Backends we closed or saw lost: their (further) device loss is not reported again. */
  private readonly retired = new WeakSet<Backend>();
  private status: LabStatus = 'idle';
  private current: ActiveExperiment | null = null;
  /** Bumped by start and reset: a start whose number is no longer current abandons its preparation. */
  private generation = 0;
  private lifecycle: Promise<void> = Promise.resolve();
  private curvature: CurvatureRequest | null = null;

  constructor(
    private readonly send: PostEvent,
    private readonly openBackend: BackendOpener = openLabBackend,
  ) {}

  /** The backend's report, once one is open. */
  get backendReport(): BackendReport | null {
    return this.report;
  }

  get labStatus(): LabStatus {
    return this.status;
  }

  /** Handle one command; never throws (problems become 'error' events). */
  async handle(command: LabCommand): Promise<void> {
    try {
      const problem = commandProblem(command);
      if (problem) {
        this.error([problem]);
        return;
      }
      switch (command.type) {
        case 'open':
          return await this.serial(() => this.open(command.prefer));
        case 'start': {
          // An invalid config is refused here, before it can cancel an experiment being prepared;
          // it leaves the previous experiment (and its results) alone.
          const validation = validateConfig(command.config);
          if (!validation.ok) {
            this.error(validation.errors);
            return;
          }
          const generation = ++this.generation;
          return await this.serial(() => this.start(command.config, command.paused ?? false, generation));
        }
        case 'reset':
          this.generation++;
          this.stopCurrent('reset');
          return await this.serial(() => this.reset());
        case 'pause':
          return this.pause();
        case 'resume':
          if (this.status === 'paused' && this.current) {
            this.current.controller.resume();
            this.setStatus('running');
          }
          return;
        case 'step':
          if (this.status === 'paused') this.current?.controller.stepOnce();
          return;
        case 'curvature':
          return this.selectCurvature({ run: command.run, layer: command.layer, every: Math.max(1, Math.floor(command.every)) });
        case 'lose-device':
          return this.loseDevice();
      }
    } catch (e) {
      this.error([`unexpected failure handling '${command?.type}': ${describe(e)}`]);
    }
  }

  /** Resolves when the lifecycle commands sent so far and the running experiment (if any) are done. */
  async settled(): Promise<void> {
    await this.lifecycle;
    await this.current?.finished;
    await this.lifecycle;
  }

  /** Stop everything and release the backend (tests; a worker simply terminates). */
  async dispose(): Promise<void> {
    this.generation++;
    this.stopCurrent('reset');
    await this.serial(async () => {
      await this.current?.finished;
      this.disposeCurrent();
      this.closeBackend();
    });
  }

  // ---- lifecycle (serialised) ----------------------------------------------------------------

  private serial(task: () => Promise<void>): Promise<void> {
    const next = this.lifecycle.then(task);
    this.lifecycle = next.catch(() => {});
    return next;
  }

  private async open(prefer: BackendPreference): Promise<void> {
    if (this.current?.running) {
      this.error(['open: an experiment is running; reset it before switching backends']);
      return;
    }
    if (this.current) {
      this.disposeCurrent();
      this.setStatus('idle');
    }
    this.closeBackend();
    this.adopt(await this.tryOpen(prefer));
  }

  private async tryOpen(prefer: BackendPreference): Promise<OpenedBackend> {
    try {
      return await this.openBackend(prefer);
    } catch (e) {
      this.error([`could not open the ${prefer} backend: ${describe(e)}; using the CPU backend`]);
      return cpuBackend({ kind: 'unexpected', reason: describe(e) });
    }
  }

  private adopt(opened: OpenedBackend): void {
    this.backend = opened.backend;
    this.report = opened.report;
    const gpu = asWebGPU(opened.backend);
    if (gpu) {
      void gpu.device.lost.then((info) => this.deviceLost(gpu, info.message || info.reason || 'no reason given'));
    }
    this.post({ type: 'backend', report: opened.report });
  }

  private closeBackend(): void {
    const backend = this.backend;
    this.backend = null;
    this.report = null;
    if (!backend) return;
    this.retired.add(backend);
    try {
      backend.destroy();
    } catch {
      // A lost device may refuse to release its buffers; it is gone either way.
    }
  }

  private async start(config: ExperimentConfig, paused: boolean, generation: number): Promise<void> {
    if (this.current) {
      this.stopCurrent('restart');
      await this.current.finished;
      this.disposeCurrent();
    }
    if (generation !== this.generation) return;
    if (!this.backend) this.adopt(await this.tryOpen('webgpu'));
    const backend = this.backend!;
    if (generation !== this.generation) return;
    this.setStatus('preparing');

    const controller = new SessionController(() => this.flushCurrent());
    if (paused) controller.pause();
    // The callbacks find their experiment through this box: it is filled once create() returns.
    const box: { active: ActiveExperiment | null } = { active: null };
    let experiment: Experiment;
    let kfacLayers: Record<number, string[]> = {};
    try {
      experiment = await Experiment.create(backend, config, {
        controller,
        phaseTiming: true,
        onMetrics: (points) => box.active && this.onMetrics(box.active, points),
        onRunEnd: (run, result) => box.active && this.onRunEnd(box.active, run, result),
      });
    } catch (e) {
      if (generation === this.generation) this.setStatus('idle');
      this.error(e instanceof ExperimentConfigError ? [...e.messages] : [`could not prepare the experiment: ${describe(e)}`]);
      return;
    }
    try {
      const kfacRuns = experiment.optimizers.map((o, i) => [i, isKfacOptimizer(o)] as const).filter(([, kfac]) => kfac);
      if (kfacRuns.length > 0) {
        const names = await discoverKfacLayers(experiment.config.task, experiment.config.seed);
        kfacLayers = Object.fromEntries(kfacRuns.map(([i]) => [i, [...names]]));
      }
    } catch (e) {
      this.error([`could not list the K-FAC layers (the curvature panel falls back to each run's first layer): ${describe(e)}`]);
    }
    if (generation !== this.generation || this.retired.has(backend)) {
      // Reset, restarted or the device was lost while preparing.
      try {
        experiment.dispose();
      } catch {
        // Tensors of a lost device may fail to release; nothing else holds them.
      }
      if (this.retired.has(backend) && generation === this.generation) {
        this.setStatus('idle');
        this.error(['the GPU device was lost while the experiment was being prepared; start it again']);
      }
      return;
    }

    const runs = experiment.config.optimizers.length;
    const active: ActiveExperiment = {
      experiment,
      controller,
      steps: experiment.config.steps,
      points: [],
      runEnds: [],
      phaseTotals: Array.from({ length: runs }, () => ({})),
      stepsDone: new Array<number>(runs).fill(0),
      lastFlush: performance.now(),
      timer: null,
      running: true,
      finished: Promise.resolve(),
      stopReason: null,
      snapshotInFlight: false,
      curvatureDirty: true,
      disposed: false,
    };
    box.active = active;
    this.current = active;
    this.post({
      type: 'started',
      config: experiment.config,
      parameterCount: experiment.parameterCount,
      runs: experiment.config.optimizers.map((o) => ({ label: o.label, optimizer: o.id })),
      kfacLayers,
    });
    this.setStatus(paused ? 'paused' : 'running');
    active.finished = this.execute(active);
  }

  private async execute(active: ActiveExperiment): Promise<void> {
    let result: ExperimentResult | null = null;
    try {
      result = await active.experiment.run();
    } catch (e) {
      this.error([`the experiment failed: ${describe(e)}`]);
    }
    active.running = false;
    this.flushWithRunEnds(active);
    const reason = active.stopReason;
    // Runs that failed on a lost device all end "done" as far as the runner knows; the experiment did not finish.
    if (result) this.post({ type: 'done', result: reason === 'device-lost' ? { ...result, stopped: true } : result });
    if (reason !== 'reset' && reason !== 'restart') this.setStatus('done');
    // The panel shows the final curvature, not the last multiple of `every`.
    if (reason === null) {
      active.curvatureDirty = true;
      this.snapshot(active);
    }
  }

  private async reset(): Promise<void> {
    const active = this.current;
    if (active) {
      await active.finished;
      this.disposeCurrent();
    }
    this.setStatus('idle');
  }

  private stopCurrent(reason: StopReason): void {
    const active = this.current;
    if (!active?.running) return;
    active.stopReason ??= reason;
    active.controller.stop();
  }

  private disposeCurrent(): void {
    const active = this.current;
    if (!active) return;
    this.current = null;
    active.disposed = true;
    if (active.timer !== null) clearTimeout(active.timer);
    active.timer = null;
    try {
      active.experiment.dispose();
    } catch (e) {
      // Tensors of a lost device may fail to release; nothing else holds them.
      if (active.stopReason !== 'device-lost') this.error([`could not release the experiment: ${describe(e)}`]);
    }
  }

  // ---- runner callbacks -----------------------------------------------------------------------

  private onMetrics(active: ActiveExperiment, points: MetricPoint[]): void {
    for (const p of points) {
      active.points.push(p);
      active.stepsDone[p.run] = p.step;
      if (p.phaseMs) {
        const totals = active.phaseTotals[p.run];
        for (const [phase, ms] of Object.entries(p.phaseMs)) totals[phase] = (totals[phase] ?? 0) + ms;
      }
    }
    if (active.runEnds.length > 0) this.flushWithRunEnds(active);
    else this.scheduleFlush(active);
    const request = this.curvature;
    const point = request && points.find((p) => p.run === request.run);
    if (point && (active.curvatureDirty || point.step % request.every === 0)) this.snapshot(active);
  }

  private onRunEnd(active: ActiveExperiment, run: number, result: RunResult): void {
    const unfinished = result.stepsCompleted < active.steps;
    const lostHere =
      active.stopReason === 'device-lost' ||
      (result.error !== undefined && (DEVICE_LOST_PATTERN.test(result.error) || this.retired.has(active.experiment.backend)));
    if (lostHere && (result.error !== undefined || unfinished)) {
      result.error = `the GPU device was lost at step ${result.stepsCompleted + 1}; run stopped`;
    }
    active.runEnds.push({ run, result });
  }

  /** Post the metrics so far, then the run ends that waited for them. */
  private flushWithRunEnds(active: ActiveExperiment): void {
    this.flush(active);
    for (const { run, result } of active.runEnds.splice(0)) this.post({ type: 'run-end', run, result });
  }

  // ---- metrics --------------------------------------------------------------------------------

  private scheduleFlush(active: ActiveExperiment): void {
    if (active.timer !== null) return;
    const wait = Math.max(0, FLUSH_INTERVAL_MS - (performance.now() - active.lastFlush));
    active.timer = setTimeout(() => {
      active.timer = null;
      if (!active.disposed) this.flush(active);
    }, wait);
  }

  private flushCurrent(): void {
    if (this.current) this.flush(this.current);
  }

  private flush(active: ActiveExperiment): void {
    if (active.timer !== null) clearTimeout(active.timer);
    active.timer = null;
    if (active.points.length === 0) return;
    const { batch, transfer } = packMetrics(active.points.splice(0));
    active.lastFlush = performance.now();
    this.post({ type: 'metrics', batch }, transfer);
    this.post({ type: 'phases', totals: active.phaseTotals.map((t) => ({ ...t })) });
  }

  // ---- controls -------------------------------------------------------------------------------

  private pause(): void {
    const active = this.current;
    if (this.status !== 'running' || !active) return;
    active.controller.pause();
    this.flush(active);
    this.setStatus('paused');
  }

  private selectCurvature(request: CurvatureRequest): void {
    const active = this.current;
    if (active && request.run >= active.stepsDone.length) {
      this.error([`curvature.run: ${request.run} is not a run of this experiment (runs 0 to ${active.stepsDone.length - 1})`]);
      return;
    }
    this.curvature = request;
    if (!active) return;
    active.curvatureDirty = true;
    // Nothing steps while paused or after the end: answer now.
    if (!active.running || this.status === 'paused') this.snapshot(active);
  }

  /** A snapshot of the selected run and layer, unless one is in flight or the run is not K-FAC. */
  private snapshot(active: ActiveExperiment): void {
    const request = this.curvature;
    if (!request || active.snapshotInFlight || active.disposed) return;
    const optimizer = active.experiment.optimizers[request.run];
    if (!optimizer || !isKfacOptimizer(optimizer)) {
      active.curvatureDirty = false;
      return;
    }
    const layer = request.layer ?? optimizer.layerNames[0];
    if (layer === undefined) return; // no factors before the first step: stay dirty
    if (optimizer.layerNames.length > 0 && !optimizer.layerNames.includes(layer)) {
      active.curvatureDirty = false;
      this.error([`curvature.layer: run ${request.run} has no K-FAC layer "${layer}" (layers: ${optimizer.layerNames.join(', ')})`]);
      return;
    }
    const step = active.stepsDone[request.run];
    active.curvatureDirty = false;
    active.snapshotInFlight = true;
    curvatureSnapshot(optimizer, layer)
      .then((snapshot) => {
        if (active.disposed || !snapshot) return;
        const now = this.curvature;
        if (now && now.run === request.run && (now.layer ?? layer) === layer) {
          this.post({ type: 'curvature', run: request.run, step, snapshot });
        } else active.curvatureDirty = true; // the selection changed meanwhile
      })
      .catch((e: unknown) => {
        if (active.stopReason !== 'device-lost' && !active.disposed) this.error([`curvature snapshot failed: ${describe(e)}`]);
      })
      .finally(() => {
        active.snapshotInFlight = false;
        if (active.curvatureDirty && !active.disposed && (!active.running || this.status === 'paused')) this.snapshot(active);
      });
  }

  // ---- device loss ----------------------------------------------------------------------------

  private loseDevice(): void {
    const gpu = asWebGPU(this.backend);
    if (!gpu || gpu.lostReason !== null || this.retired.has(gpu)) {
      this.error(['lose-device: there is no live WebGPU device to lose (the lab runs on the CPU backend)']);
      return;
    }
    gpu.device.destroy();
    this.deviceLost(gpu, 'the device was destroyed on request (lose-device)');
  }

  /** Stop the interrupted experiment, tell the page, then open a new backend. */
  private deviceLost(backend: Backend, detail: string): void {
    if (this.retired.has(backend)) return;
    this.retired.add(backend);
    const active = this.current?.experiment.backend === backend ? this.current : null;
    const interrupted = active?.running ?? false;
    if (active && interrupted) {
      active.stopReason = 'device-lost';
      active.controller.stop();
    }
    const steps = active ? Math.max(0, ...active.stepsDone) : 0;
    this.post({
      type: 'device-lost',
      message: interrupted
        ? `The GPU device was lost at step ${steps + 1} (${detail}). The runs were stopped; their results up to step ${steps} are kept. Opening a new device…`
        : `The GPU device was lost (${detail}). Opening a new device…`,
      recovered: !interrupted,
    });
    void this.serial(async () => {
      if (active) {
        await active.finished;
        if (this.current === active) this.disposeCurrent();
      }
      if (this.backend !== backend) return; // already replaced (an 'open' got there first)
      this.closeBackend();
      const opened = await this.tryOpen('webgpu');
      // Falling back to the CPU here is the lost device's doing, whatever the new request said.
      this.adopt(opened.report.webgpu ? opened : { ...opened, report: { ...opened.report, failureKind: 'device-lost' } });
    }).catch((e: unknown) => this.error([`could not recover from the lost device: ${describe(e)}`]));
  }

  // ---- events ---------------------------------------------------------------------------------

  /** Posting must not throw into the runner's callbacks or a timer (e.g. an event that cannot be cloned). */
  private post(event: LabEvent, transfer?: Transferable[]): void {
    try {
      this.send(event, transfer);
    } catch (e) {
      if (event.type === 'error') return;
      try {
        this.send({ type: 'error', messages: [`could not send a '${event.type}' event: ${describe(e)}`] });
      } catch {
        // Nothing left to tell the page with.
      }
    }
  }

  private setStatus(status: LabStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.post({ type: 'status', status });
  }

  private error(messages: string[]): void {
    this.post({ type: 'error', messages });
  }
}
