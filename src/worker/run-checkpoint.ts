// "Analyse this model": the race hands a run's current weights to the tool pages as an encoded
// checkpoint (src/engine/checkpoint/checkpoint.ts). The lab session calls this for 'capture-run'
// with its current experiment (or null); the answer is one 'run-checkpoint' event. Capturing is
// refused while the experiment is stepping: the parameters would change between the reads.
import { captureCheckpoint, encodeCheckpoint } from '../engine/checkpoint/checkpoint.ts';
import type { Experiment } from '../engine/lab/experiment.ts';
import type { LabCommand, LabEvent } from './protocol.ts';

export type CaptureRunCommand = Extract<LabCommand, { type: 'capture-run' }>;

/** What run-checkpoint needs to know about the session's experiment. */
export interface CapturableExperiment {
  experiment: Pick<Experiment, 'config' | 'models'>;
  /** Steps completed per run. */
  stepsDone: readonly number[];
  /** True while the runner is stepping (not paused, not finished). */
  stepping: boolean;
}

export async function captureRunCheckpoint(
  command: CaptureRunCommand,
  current: CapturableExperiment | null,
  post: (event: LabEvent, transfer?: Transferable[]) => void,
): Promise<void> {
  const { requestId, run } = command;
  const refuse = (error: string) => post({ type: 'run-checkpoint', requestId, run, bytes: null, error });
  if (!current) return refuse('there is no experiment to take a model from: run one first');
  const { experiment, stepsDone, stepping } = current;
  const model = experiment.models[run];
  if (!model) return refuse(`run ${run} is not a run of this experiment (runs 0 to ${experiment.models.length - 1})`);
  if (stepping) return refuse('the experiment is training: pause it (or let it finish) before taking a model');
  try {
    const entry = experiment.config.optimizers[run];
    const checkpoint = await captureCheckpoint(model, {
      task: experiment.config.task,
      seed: experiment.config.seed,
      step: stepsDone[run] ?? 0,
      origin: { optimizer: entry.id, label: entry.label },
    });
    const bytes = encodeCheckpoint(checkpoint);
    post({ type: 'run-checkpoint', requestId, run, bytes }, [bytes.buffer]);
  } catch (e) {
    refuse(`could not capture run ${run}'s model: ${e instanceof Error ? e.message : String(e)}`);
  }
}
