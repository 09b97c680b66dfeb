// The page's side of the worker's jobs (src/worker/jobs/): start one, follow its progress, cancel it,
// get its result as a promise. Also asks the race for a run's model ("analyse this model").
import type { JobKind, JobProgress, LabEvent } from '../../worker/protocol.ts';
import type { LabClient } from '../lab/client.ts';
import { labWorker } from '../lab/worker-connection.ts';

export interface JobHandle<R> {
  readonly jobId: string;
  /** Resolves with the job's result; rejects with a JobFailure (cancelled or failed). */
  readonly result: Promise<R>;
  cancel(): void;
}

/** Why a job gave no result. */
export class JobFailure extends Error {
  constructor(
    readonly messages: readonly string[],
    readonly cancelled: boolean,
  ) {
    super(messages.join('; '));
    this.name = 'JobFailure';
  }
}

let counter = 0;

function nextId(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

/**
 * Start a job. The config's typed arrays are copied to the worker (not transferred), so the caller
 * keeps them (a checkpoint analysed twice).
 */
export function startJob<R>(
  kind: JobKind,
  config: unknown,
  onProgress: (progress: JobProgress) => void,
  client: LabClient = labWorker(),
): JobHandle<R> {
  const jobId = nextId(kind);
  let unsubscribe: () => void = () => {};
  const result = new Promise<R>((resolve, reject) => {
    unsubscribe = client.subscribe((event: LabEvent) => {
      if (!('jobId' in event) || event.jobId !== jobId) return;
      if (event.type === 'job-progress') onProgress(event.progress);
      else if (event.type === 'job-result') {
        unsubscribe();
        resolve(event.result as R);
      } else if (event.type === 'job-error') {
        unsubscribe();
        reject(new JobFailure(event.messages, event.cancelled));
      }
    });
  });
  client.send({ type: 'job-start', jobId, kind, config });
  return { jobId, result, cancel: () => client.send({ type: 'job-cancel', jobId }) };
}

/** The race's run `run` as an encoded checkpoint (the race must be paused or finished). */
export function captureRunModel(run: number, client: LabClient = labWorker()): Promise<Uint8Array> {
  const requestId = nextId('capture');
  return new Promise((resolve, reject) => {
    const unsubscribe = client.subscribe((event) => {
      if (event.type !== 'run-checkpoint' || event.requestId !== requestId) return;
      unsubscribe();
      if (event.bytes) resolve(event.bytes);
      else reject(new Error(event.error ?? 'the run could not be captured'));
    });
    client.send({ type: 'capture-run', requestId, run });
  });
}
