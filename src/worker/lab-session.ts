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
// - Every HOST_COPY_INTERVAL steps each run's parameters and optimizer state are copied to the host;
//   after a lost device the runs continue on a new backend from those copies (device-recovery.ts).
import type { Backend } from '../engine/backend/backend.ts';
import { ExperimentConfigError, validateConfig, type ExperimentConfig } from '../engine/lab/experiment-config.ts';
import { Experiment, type RunOptions } from '../engine/lab/experiment.ts';
import { HOST_COPY_INTERVAL, type ResumePoint } from '../engine/lab/host-copy.ts';
import type { ExperimentResult, MetricPoint, RunResult } from '../engine/lab/results.ts';
import { describe, SessionController, type ActiveExperiment, type StopReason } from './active-experiment.ts';
import { CurvatureSchedule, type CurvatureRequest } from './curvature-snapshots.ts';
import { DeviceRecovery } from './device-recovery.ts';
import { cpuBackend, openLabBackend, type BackendOpener, type OpenedBackend } from './gpu-status.ts';
import { MetricBatcher, type PostEvent } from './metric-batcher.ts';
import { commandProblem, type BackendPreference, type BackendReport, type LabCommand, type LabEvent, type LabStatus } from './protocol.ts';

export { yieldToEventLoop } from './active-experiment.ts';
export { FLUSH_INTERVAL_MS, type PostEvent } from './metric-batcher.ts';

/** Where the runner's callbacks find their experiment: filled once Experiment.create returns. */
interface ExperimentBox {
  active: ActiveExperiment | null;
}

export class LabSession {
  private backend: Backend | null = null;
  private report: BackendReport | null = null;
  private status: LabStatus = 'idle';
  private current: ActiveExperiment | null = null;
  /** Bumped by start and reset: a start whose number is no longer current abandons its preparation. */
  private generation = 0;
  private lifecycle: Promise<void> = Promise.resolve();
  private curvature: CurvatureRequest | null = null;
  private readonly recovery = new DeviceRecovery({
    backend: () => this.backend,
    deviceSummary: () => this.report?.device.summary,
    current: () => this.current,
    serial: (task) => this.serial(task),
    closeBackend: () => this.closeBackend(),
    openBackend: () => this.tryOpen('webgpu'),
    adopt: (opened) => this.adopt(opened),
    rebuild: async (backend, active, config, resume) => {
      const controller = new SessionController(() => this.flushCurrent());
      if (active.controller.paused) controller.pause();
      const experiment = await Experiment.create(backend, config, this.runOptions({ active }, controller, resume));
      return { experiment, controller };
    },
    execute: (active) => this.execute(active),
    endExperiment: (active, result) => this.endExperiment(active, result),
    disposeCurrent: () => this.disposeCurrent(),
    post: (event) => this.post(event),
    error: (messages) => this.error(messages),
  });

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
          // Also before a requested pause has reached its step boundary (the status is still 'running').
          if ((this.status === 'paused' || this.status === 'running') && this.current?.controller.paused) {
            this.current.controller.resume();
            if (this.status === 'paused') this.setStatus('running');
          }
          return;
        case 'step':
          if (this.status === 'paused') this.current?.controller.stepOnce();
          return;
        case 'curvature':
          return this.selectCurvature({ run: command.run, layer: command.layer, every: Math.max(1, Math.floor(command.every)) });
        case 'lose-device':
          return this.recovery.loseDevice();
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
    this.recovery.watch(opened.backend);
    this.post({ type: 'backend', report: opened.report });
  }

  private closeBackend(): void {
    const backend = this.backend;
    this.backend = null;
    this.report = null;
    if (!backend) return;
    this.recovery.retire(backend);
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
    const box: ExperimentBox = { active: null };
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
      const kfacRuns = experiment.optimizers.flatMap((o, i) => (o.curvature ? [i] : []));
      if (kfacRuns.length > 0) {
        const names = experiment.curvatureLayerNames();
        kfacLayers = Object.fromEntries(kfacRuns.map((i) => [i, [...names]]));
      }
    } catch (e) {
      this.error([`could not list the K-FAC layers (the curvature panel falls back to each run's first layer): ${describe(e)}`]);
    }
    // Pipelines are compiled here, untimed, while the page still says "preparing" (fair clocks:
    // src/engine/lab/experiment.ts), not inside the first run's first step.
    await experiment.warmUp();
    if (generation !== this.generation || this.recovery.isRetired(backend)) {
      // Reset, restarted or the device was lost while preparing.
      try {
        experiment.dispose();
      } catch {
        // Tensors of a lost device may fail to release; nothing else holds them.
      }
      if (this.recovery.isRetired(backend) && generation === this.generation) {
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
  private runOptions(box: ExperimentBox, controller: SessionController, resume?: ResumePoint[]): RunOptions {
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
    // The interrupted runs go on on a new device (device-recovery.ts): nothing ends here.
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
    // A reset or restart while the runs move to a new device cancels the move (device-recovery.ts).
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
    // A run the lost device cut short is held back: it resumes on a new device from its last host copy.
    if (this.recovery.holdsBack(active, run, result)) return;
    active.metrics.addRunEnd(run, result);
  }

  /** Called by the controller at every step boundary it waits at while paused. */
  private flushCurrent(): void {
    this.current?.metrics.flush();
    // A pause takes effect at the next step boundary: only now has the last step's point been sent,
    // so only now is the experiment 'paused' (nothing arrives after that status).
    if (this.status === 'running' && this.current?.controller.paused) this.setStatus('paused');
  }

  // ---- controls -------------------------------------------------------------------------------

  /** Asks for a pause; the status turns 'paused' at the next step boundary (flushCurrent). */
  private pause(): void {
    const active = this.current;
    if (this.status !== 'running' || !active) return;
    active.controller.pause();
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
