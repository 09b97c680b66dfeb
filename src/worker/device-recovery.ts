// Carrying the lab's runs across a lost GPU device (docs/architecture.md, docs/lab-ux.md). Every
// HOST_COPY_INTERVAL steps each run's parameters and optimizer state are copied to the host
// (engine/lab/host-copy.ts; the session asks for that in its run options). A device lost mid-run
// stops the experiment, a new backend is opened (WebGPU, else the CPU), the task and models are
// rebuilt, and every interrupted run continues from its latest copy; 'device-lost' (recovered: true)
// says which step each run resumed from. Runs that had ended before the loss keep their results.
// Only when the rebuild fails do the interrupted runs end with an error.
//
// The session (lab-session.ts) owns the backend and the experiment; this module decides what a loss
// means for them and drives the move through the session's RecoveryHost.
import type { Backend } from '../engine/backend/backend.ts';
import type { ExperimentConfig } from '../engine/lab/experiment-config.ts';
import type { Experiment } from '../engine/lab/experiment.ts';
import { HOST_COPY_INTERVAL, type ResumePoint } from '../engine/lab/host-copy.ts';
import type { ExperimentResult, RunResult } from '../engine/lab/results.ts';
import { describe, type ActiveExperiment, type SessionController } from './active-experiment.ts';
import { asWebGPU, type OpenedBackend } from './gpu-status.ts';
import type { LabEvent } from './protocol.ts';

/** Errors a lost device produces when an op or a read fails before the loss is reported. */
const DEVICE_LOST_PATTERN = /DeviceLostError|device (is |was )?lost|lost device/i;

/** What the recovery reads from and asks of the session. */
export interface RecoveryHost {
  backend(): Backend | null;
  /** The open backend's device, in words (for the 'device-lost' message). */
  deviceSummary(): string | undefined;
  current(): ActiveExperiment | null;
  /** Run a lifecycle task after the ones queued before it. */
  serial(task: () => Promise<void>): Promise<void>;
  closeBackend(): void;
  /** Open a WebGPU backend, else the CPU one; never throws. */
  openBackend(): Promise<OpenedBackend>;
  adopt(opened: OpenedBackend): void;
  /** A new experiment for `active`'s runs on `backend`, continuing from `resume`, paused as `active` is. */
  rebuild(
    backend: Backend,
    active: ActiveExperiment,
    config: ExperimentConfig,
    resume: ResumePoint[],
  ): Promise<{ experiment: Experiment; controller: SessionController }>;
  /** Run `active`'s experiment; resolves when it ended (or was handed over again). */
  execute(active: ActiveExperiment): Promise<void>;
  endExperiment(active: ActiveExperiment, result: ExperimentResult | null): void;
  disposeCurrent(): void;
  post(event: LabEvent): void;
  error(messages: string[]): void;
}

export class DeviceRecovery {
  /** Backends we closed or saw lost: their (further) device loss is not reported again. */
  private readonly retired = new WeakSet<Backend>();

  constructor(private readonly host: RecoveryHost) {}

  /** The session no longer uses `backend` (closed, or lost). */
  retire(backend: Backend): void {
    this.retired.add(backend);
  }

  isRetired(backend: Backend): boolean {
    return this.retired.has(backend);
  }

  /** Listen for the loss of a newly adopted backend's device. */
  watch(backend: Backend): void {
    const gpu = asWebGPU(backend);
    if (gpu) {
      void gpu.device.lost.then((info) => this.deviceLost(gpu, info.message || info.reason || 'no reason given'));
    }
  }

  /**
   * A run of `active` ended: true when the lost device cut it short, so its run-end is held back
   * (it resumes on a new device from its last host copy).
   */
  holdsBack(active: ActiveExperiment, run: number, result: RunResult): boolean {
    const unfinished = result.stepsCompleted < active.steps;
    const lostHere =
      active.stopReason === 'device-lost' ||
      (result.error !== undefined && (DEVICE_LOST_PATTERN.test(result.error) || this.retired.has(active.experiment.backend)));
    if (lostHere && (result.error !== undefined || unfinished)) {
      active.interrupted.add(run);
      return true;
    }
    return false;
  }

  /** The 'lose-device' command: destroy the live WebGPU device, as a real loss would. */
  loseDevice(): void {
    const gpu = asWebGPU(this.host.backend());
    if (!gpu || gpu.lostReason !== null || this.retired.has(gpu)) {
      this.host.error(['lose-device: there is no live WebGPU device to lose (the lab runs on the CPU backend)']);
      return;
    }
    gpu.device.destroy();
    this.deviceLost(gpu, 'the device was destroyed on request (lose-device)');
  }

  /** Stop the interrupted experiment, open a new backend, and continue its runs there from their host copies. */
  private deviceLost(backend: Backend, detail: string): void {
    const host = this.host;
    if (this.retired.has(backend)) return;
    this.retired.add(backend);
    const current = host.current();
    const active = current?.experiment.backend === backend ? current : null;
    const interrupted = active?.running ?? false;
    if (active && interrupted) {
      active.stopReason = 'device-lost';
      active.controller.stop();
    }
    if (!interrupted)
      host.post({ type: 'device-lost', message: `The GPU device was lost (${detail}). Opening a new device…`, recovered: true });
    void host
      .serial(async () => {
        if (active) await active.finished;
        if (host.backend() === backend) {
          host.closeBackend();
          const opened = await host.openBackend();
          // Falling back to the CPU here is the lost device's doing, whatever the new request said.
          host.adopt(opened.report.webgpu ? opened : { ...opened, report: { ...opened.report, failureKind: 'device-lost' } });
        } // else already replaced (an 'open' got there first)
        if (active && interrupted) await this.resumeOnNewDevice(active, detail);
        else if (active && host.current() === active) host.disposeCurrent();
      })
      .catch((e: unknown) => host.error([`could not recover from the lost device: ${describe(e)}`]));
  }

  /**
   * Rebuild the interrupted experiment on the current backend and continue each interrupted run
   * from its latest host copy. When that fails, the interrupted runs end with the error.
   */
  private async resumeOnNewDevice(active: ActiveExperiment, detail: string): Promise<void> {
    const host = this.host;
    const lostAt = Math.max(0, ...active.metrics.stepsDone) + 1;
    const handedOver = active.handedOver;
    active.handedOver = null;
    if (host.current() !== active || active.disposed || active.stopReason !== 'device-lost' || !handedOver) {
      // Reset or restarted meanwhile, or run() itself failed: end it as it stands.
      if (handedOver && !active.disposed) host.endExperiment(active, { ...handedOver, stopped: true });
      return;
    }
    const old = active.experiment;
    const points = old.resumePoints((run) => active.interrupted.has(run));
    try {
      old.dispose();
    } catch {
      // Tensors of a lost device may fail to release; nothing else holds them.
    }
    const backend = host.backend();
    let failure: string | null = backend ? null : 'no backend could be opened';
    if (!failure && backend) {
      try {
        const next = await host.rebuild(backend, active, old.config, points);
        if (active.stopReason !== 'device-lost') {
          // Reset or restarted while the new experiment was being built.
          next.experiment.dispose();
          host.endExperiment(active, { ...handedOver, stopped: true });
          return;
        }
        active.experiment = next.experiment;
        active.controller = next.controller;
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
      host.post({
        type: 'device-lost',
        message: `The GPU device was lost at step ${lostAt} (${detail}). The runs could not resume (${failure}); their results up to the loss are kept.`,
        recovered: false,
      });
      host.endExperiment(active, {
        config: old.config,
        parameterCount: old.parameterCount,
        runs: points.map((p) => p.result),
        stopped: true,
      });
      return;
    }
    const where = host.deviceSummary() ?? 'the new backend';
    const resumed = points.flatMap((p) => (p.kind === 'resume' ? [`${p.result.label} from step ${p.copy?.step ?? 0}`] : []));
    host.post({
      type: 'device-lost',
      message:
        `The GPU device was lost at step ${lostAt} (${detail}). The runs continue on ${where} from their last host copy ` +
        `(taken every ${HOST_COPY_INTERVAL} steps): ${resumed.join(', ')}.`,
      recovered: true,
    });
    active.interrupted.clear();
    active.stopReason = null;
    active.finished = host.execute(active);
  }
}
