// The lab worker's logic, free of the Worker API so that Node tests drive it through `post`: it owns
// the backend and the experiment, turns commands into runner calls and the runner's callbacks into
// events (src/worker/protocol.ts).
//
// - Metric points are batched by metric-batcher.ts; curvature snapshots are scheduled by
//   curvature-snapshots.ts.
// - Between interleaved steps the session yields a macrotask, so pause, step and reset are handled
//   promptly even on the CPU backend, whose reads resolve without ever leaving the microtask queue.
// - Lifecycle commands (open, start, reset, the reopening after a lost device) run one at a time in
//   arrival order; pause, resume, step, curvature and lose-device act at once.
// - A finished experiment is kept (not disposed) until the next start, reset or open, so the
//   curvature panel can still look at its layers.
// - Every HOST_COPY_INTERVAL steps each run's parameters and optimizer state are copied to the host
//   (engine/lab/host-copy.ts). A device lost mid-run stops the experiment, a new backend is opened
//   (WebGPU, else the CPU), the task and models are rebuilt, and every interrupted run continues
//   from its latest copy; 'device-lost' (recovered: true) says which step each run resumed from.
//   Runs that had ended before the loss keep their results. Only when the rebuild fails do the
//   interrupted runs end with an error.
import type { Backend } from '../engine/backend/backend.ts';
import { ExperimentController } from '../engine/lab/controller.ts';
import { ExperimentConfigError, validateConfig, type ExperimentConfig } from '../engine/lab/experiment-config.ts';
import { Experiment, type RunOptions } from '../engine/lab/experiment.ts';
import { HOST_COPY_INTERVAL, type ResumePoint } from '../engine/lab/host-copy.ts';
import type { ExperimentResult, MetricPoint, RunResult } from '../engine/lab/results.ts';
import { KfacOptimizer } from '../engine/optim/kfac/kfac-optimizer.ts';
import { CurvatureSchedule, type CurvatureRequest } from './curvature-snapshots.ts';
import { asWebGPU, cpuBackend, openLabBackend, type BackendOpener, type OpenedBackend } from './gpu-status.ts';
import { MetricBatcher, type PostEvent } from './metric-batcher.ts';
import { commandProblem, type BackendPreference, type BackendReport, type LabCommand, type LabEvent, type LabStatus } from './protocol.ts';

export { FLUSH_INTERVAL_MS, type PostEvent } from './metric-batcher.ts';

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

/** One experiment, from 'started' until it is disposed; after a lost device its runs continue in a new Experiment. */
interface ActiveExperiment {
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
        case 'capture-run': {
          // "Analyse this model" (src/worker/run-checkpoint.ts): the run's weights as a checkpoint.
          const active = this.current;
          const stepping = active !== null && active.running && this.status !== 'paused';
          const { captureRunCheckpoint } = await import('./run-checkpoint.ts');
          const source = active && { experiment: active.experiment, stepsDone: active.metrics.stepsDone, stepping };
          return await captureRunCheckpoint(command, source, (e, t) => this.post(e, t));
        }
      }
    } catch (e) {
      this.error([`unexpected failure handling '${command?.type}': ${describe(e)}`]);
    }
  }

  /** Resolves when the lifecycle commands sent so far and the running experiment (if any) are done. */
  async settled(): Promise<void> {
    // A lost device hands the runs to a new experiment (a new `finished`): wait for that one too.
    for (;;) {
      await this.lifecycle;
      const finished = this.current?.finished;
      await finished;
      await this.lifecycle;
      if (this.current?.finished === finished) return;
    }
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
      experiment = await Experiment.create(backend, config, this.runOptions(box, controller));
    } catch (e) {
      if (generation === this.generation) this.setStatus('idle');
      this.error(e instanceof ExperimentConfigError ? [...e.messages] : [`could not prepare the experiment: ${describe(e)}`]);
      return;
    }
    try {
      const kfacRuns = experiment.optimizers.flatMap((o, i) => (o instanceof KfacOptimizer ? [i] : []));
      if (kfacRuns.length > 0) {
        const names = experiment.curvatureLayerNames();
        kfacLayers = Object.fromEntries(kfacRuns.map((i) => [i, [...names]]));
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
    const metrics = new MetricBatcher(runs, (event, transfer) => this.post(event, transfer));
    const active: ActiveExperiment = {
      experiment,
      controller,
      steps: experiment.config.steps,
      metrics,
      curvature: new CurvatureSchedule({
        request: () => this.curvature,
        optimizers: () => active.experiment.optimizers,
        stepOf: (run) => metrics.stepsDone[run] ?? 0,
        idle: () => !active.running || this.status === 'paused',
        gone: () => active.disposed || active.stopReason === 'device-lost',
        post: (event) => this.post(event),
        error: (messages) => this.error(messages),
      }),
      interrupted: new Set(),
      running: true,
      finished: Promise.resolve(),
      stopReason: null,
      handedOver: null,
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

  /** The runner options of the session's experiments: its callbacks, phase timing and the periodic host copy. */
  private runOptions(box: { active: ActiveExperiment | null }, controller: SessionController, resume?: ResumePoint[]): RunOptions {
    return {
      controller,
      phaseTiming: true,
      hostCopyInterval: HOST_COPY_INTERVAL,
      resume,
      onMetrics: (points) => box.active && this.onMetrics(box.active, points),
      onRunEnd: (run, result) => box.active && this.onRunEnd(box.active, run, result),
    };
  }

  private async execute(active: ActiveExperiment): Promise<void> {
    let result: ExperimentResult | null = null;
    try {
      result = await active.experiment.run();
    } catch (e) {
      this.error([`the experiment failed: ${describe(e)}`]);
    }
    // The interrupted runs go on on a new device (resumeOnNewDevice): nothing ends here.
    if (active.stopReason === 'device-lost' && result) {
      active.handedOver = result;
      return;
    }
    this.endExperiment(active, result);
  }

  /** Post the last points, the held run ends and 'done'; the panel shows the final curvature. */
  private endExperiment(active: ActiveExperiment, result: ExperimentResult | null): void {
    active.running = false;
    active.metrics.flushWithRunEnds();
    const reason = active.stopReason;
    if (result) this.post({ type: 'done', result });
    if (reason !== 'reset' && reason !== 'restart') this.setStatus('done');
    if (reason === null) active.curvature.atEnd();
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
    // A reset or restart while the runs move to a new device cancels the move (resumeOnNewDevice).
    active.stopReason = active.stopReason === 'device-lost' ? reason : (active.stopReason ?? reason);
    active.controller.stop();
  }

  private disposeCurrent(): void {
    const active = this.current;
    if (!active) return;
    this.current = null;
    active.disposed = true;
    active.metrics.dispose();
    try {
      active.experiment.dispose();
    } catch (e) {
      // Tensors of a lost device may fail to release; nothing else holds them.
      if (active.stopReason !== 'device-lost') this.error([`could not release the experiment: ${describe(e)}`]);
    }
  }

  // ---- runner callbacks -----------------------------------------------------------------------

  private onMetrics(active: ActiveExperiment, points: MetricPoint[]): void {
    active.metrics.add(points);
    active.curvature.afterStep(points);
  }

  private onRunEnd(active: ActiveExperiment, run: number, result: RunResult): void {
    const unfinished = result.stepsCompleted < active.steps;
    const lostHere =
      active.stopReason === 'device-lost' ||
      (result.error !== undefined && (DEVICE_LOST_PATTERN.test(result.error) || this.retired.has(active.experiment.backend)));
    if (lostHere && (result.error !== undefined || unfinished)) {
      // Held back: the run resumes on a new device from its last host copy (resumeOnNewDevice).
      active.interrupted.add(run);
      return;
    }
    active.metrics.addRunEnd(run, result);
  }

  private flushCurrent(): void {
    this.current?.metrics.flush();
  }

  // ---- controls -------------------------------------------------------------------------------

  private pause(): void {
    const active = this.current;
    if (this.status !== 'running' || !active) return;
    active.controller.pause();
    active.metrics.flush();
    this.setStatus('paused');
  }

  private selectCurvature(request: CurvatureRequest): void {
    const active = this.current;
    const runs = active?.experiment.config.optimizers.length ?? 0;
    if (active && request.run >= runs) {
      this.error([`curvature.run: ${request.run} is not a run of this experiment (runs 0 to ${runs - 1})`]);
      return;
    }
    this.curvature = request;
    // Nothing steps while paused or after the end: answered at once.
    active?.curvature.selectionChanged();
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

  /** Stop the interrupted experiment, open a new backend, and continue its runs there from their host copies. */
  private deviceLost(backend: Backend, detail: string): void {
    if (this.retired.has(backend)) return;
    this.retired.add(backend);
    const active = this.current?.experiment.backend === backend ? this.current : null;
    const interrupted = active?.running ?? false;
    if (active && interrupted) {
      active.stopReason = 'device-lost';
      active.controller.stop();
    }
    if (!interrupted)
      this.post({ type: 'device-lost', message: `The GPU device was lost (${detail}). Opening a new device…`, recovered: true });
    void this.serial(async () => {
      if (active) await active.finished;
      if (this.backend === backend) {
        this.closeBackend();
        const opened = await this.tryOpen('webgpu');
        // Falling back to the CPU here is the lost device's doing, whatever the new request said.
        this.adopt(opened.report.webgpu ? opened : { ...opened, report: { ...opened.report, failureKind: 'device-lost' } });
      } // else already replaced (an 'open' got there first)
      if (active && interrupted) await this.resumeOnNewDevice(active, detail);
      else if (active && this.current === active) this.disposeCurrent();
    }).catch((e: unknown) => this.error([`could not recover from the lost device: ${describe(e)}`]));
  }

  /**
   * Rebuild the interrupted experiment on the current backend and continue each interrupted run
   * from its latest host copy. When that fails, the interrupted runs end with the error.
   */
  private async resumeOnNewDevice(active: ActiveExperiment, detail: string): Promise<void> {
    const lostAt = Math.max(0, ...active.metrics.stepsDone) + 1;
    const handedOver = active.handedOver;
    active.handedOver = null;
    if (this.current !== active || active.disposed || active.stopReason !== 'device-lost' || !handedOver) {
      // Reset or restarted meanwhile, or run() itself failed: end it as it stands.
      if (handedOver && !active.disposed) this.endExperiment(active, { ...handedOver, stopped: true });
      return;
    }
    const old = active.experiment;
    const points = old.resumePoints((run) => active.interrupted.has(run));
    try {
      old.dispose();
    } catch {
      // Tensors of a lost device may fail to release; nothing else holds them.
    }
    const backend = this.backend;
    let failure: string | null = backend ? null : 'no backend could be opened';
    if (!failure && backend) {
      const controller = new SessionController(() => this.flushCurrent());
      if (active.controller.paused) controller.pause();
      try {
        const next = await Experiment.create(backend, old.config, this.runOptions({ active }, controller, points));
        if (active.stopReason !== 'device-lost') {
          // Reset or restarted while the new experiment was being built.
          next.dispose();
          this.endExperiment(active, { ...handedOver, stopped: true });
          return;
        }
        active.experiment = next;
        active.controller = controller;
      } catch (e) {
        failure = describe(e);
      }
    }
    if (failure !== null) {
      const ends = points.map((p, run) => ({ run, result: p.result })).filter(({ run }) => active.interrupted.has(run));
      for (const { run, result } of ends) {
        result.error = `the GPU device was lost at step ${result.stepsCompleted + 1} and the run could not resume (${failure}); run stopped`;
        active.metrics.addRunEnd(run, result);
      }
      this.post({
        type: 'device-lost',
        message: `The GPU device was lost at step ${lostAt} (${detail}). The runs could not resume (${failure}); their results up to the loss are kept.`,
        recovered: false,
      });
      this.endExperiment(active, {
        config: old.config,
        parameterCount: old.parameterCount,
        runs: points.map((p) => p.result),
        stopped: true,
      });
      return;
    }
    const where = this.report?.device.summary ?? 'the new backend';
    const resumed = points.flatMap((p) => (p.kind === 'resume' ? [`${p.result.label} from step ${p.copy?.step ?? 0}`] : []));
    this.post({
      type: 'device-lost',
      message:
        `The GPU device was lost at step ${lostAt} (${detail}). The runs continue on ${where} from their last host copy ` +
        `(taken every ${HOST_COPY_INTERVAL} steps): ${resumed.join(', ')}.`,
      recovered: true,
    });
    active.interrupted.clear();
    active.stopReason = null;
    active.finished = this.execute(active);
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
