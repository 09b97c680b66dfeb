// The page's side of the worker jobs (src/ui/jobs/job-client.ts) against a stand-in worker: a job
// posts job-start with its config, follows only its own events, resolves with its result or rejects
// with a JobFailure (cancelled or not), and cancel posts job-cancel; a race run's model comes back
// as bytes or as the worker's reason.
import { describe, expect, it } from 'vitest';
import { LabClient } from '../../src/ui/lab/client.ts';
import { captureRunModel, JobFailure, startJob } from '../../src/ui/jobs/job-client.ts';
import type { JobProgress, LabCommand, LabEvent } from '../../src/worker/protocol.ts';

class FakeWorker {
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  onmessageerror: ((e: MessageEvent) => void) | null = null;
  readonly posted: LabCommand[] = [];
  postMessage(message: LabCommand): void {
    this.posted.push(message);
  }
  terminate(): void {}
  emit(event: LabEvent): void {
    this.onmessage?.({ data: event } as MessageEvent);
  }
}

function setup() {
  const worker = new FakeWorker();
  return { worker, client: new LabClient(() => worker as unknown as Worker) };
}

describe('startJob', () => {
  it('posts job-start, reports its own progress, and resolves with its result', async () => {
    const { worker, client } = setup();
    const seen: JobProgress[] = [];
    const job = startJob<{ ok: number }>('train', { task: 'mlp-spirals' }, (p) => seen.push(p), client);
    expect(worker.posted).toEqual([{ type: 'job-start', jobId: job.jobId, kind: 'train', config: { task: 'mlp-spirals' } }]);
    worker.emit({ type: 'job-progress', jobId: 'someone-else', progress: { stage: 'x', done: 9, total: 9 } });
    worker.emit({ type: 'job-progress', jobId: job.jobId, progress: { stage: 'training', done: 1, total: 3 } });
    worker.emit({ type: 'job-result', jobId: job.jobId, result: { ok: 1 } });
    await expect(job.result).resolves.toEqual({ ok: 1 });
    expect(seen).toEqual([{ stage: 'training', done: 1, total: 3 }]);
    // Events after the end are not delivered.
    worker.emit({ type: 'job-progress', jobId: job.jobId, progress: { stage: 'late', done: 3, total: 3 } });
    expect(seen).toHaveLength(1);
  });

  it('cancel posts job-cancel; the cancelled end rejects with a JobFailure marked cancelled', async () => {
    const { worker, client } = setup();
    const job = startJob('curvature', {}, () => {}, client);
    const other = startJob('curvature', {}, () => {}, client);
    expect(job.jobId).not.toBe(other.jobId);
    job.cancel();
    expect(worker.posted.at(-1)).toEqual({ type: 'job-cancel', jobId: job.jobId });
    worker.emit({ type: 'job-error', jobId: job.jobId, messages: ['the job was cancelled'], cancelled: true });
    const failure = await job.result.catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(JobFailure);
    expect(failure).toMatchObject({ cancelled: true, messages: ['the job was cancelled'] });
    worker.emit({ type: 'job-error', jobId: other.jobId, messages: ['curvature.task: expected one of …'], cancelled: false });
    await expect(other.result).rejects.toMatchObject({ cancelled: false, message: 'curvature.task: expected one of …' });
  });
});

describe('captureRunModel', () => {
  it("resolves with the run's checkpoint bytes, or rejects with the worker's reason", async () => {
    const { worker, client } = setup();
    const first = captureRunModel(1, client);
    const request = worker.posted.at(-1) as Extract<LabCommand, { type: 'capture-run' }>;
    expect(request).toMatchObject({ type: 'capture-run', run: 1 });
    const bytes = Uint8Array.from([1, 2, 3]);
    worker.emit({ type: 'run-checkpoint', requestId: request.requestId, run: 1, bytes });
    await expect(first).resolves.toBe(bytes);

    const second = captureRunModel(0, client);
    const again = worker.posted.at(-1) as Extract<LabCommand, { type: 'capture-run' }>;
    worker.emit({ type: 'run-checkpoint', requestId: again.requestId, run: 0, bytes: null, error: 'the experiment is training' });
    await expect(second).rejects.toThrow('the experiment is training');
  });
});
