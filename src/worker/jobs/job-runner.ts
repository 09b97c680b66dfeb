// Runs the worker's jobs (job.ts) one at a time in arrival order, on the worker's backend, and keeps
// their events in order: for each job, zero or more 'job-progress' (throttled to one per
// JOB_PROGRESS_INTERVAL_MS, the latest always sent before the end), then exactly one 'job-result'
// or 'job-error'. Cancel works on a queued job (it ends at once) and on a running one (its signal
// is aborted; whatever it returns afterwards is dropped and it ends as cancelled).
import type { Backend } from '../../engine/backend/backend.ts';
import { commandProblem, JOB_PROGRESS_INTERVAL_MS, type JobKind, type JobProgress, type LabCommand, type LabEvent } from '../protocol.ts';
import { JobCancelledError, JobConfigError, type JobDefinition } from './job.ts';

export type JobCommand = Extract<LabCommand, { type: 'job-start' | 'job-cancel' }>;
export type PostJobEvent = (event: LabEvent, transfer?: Transferable[]) => void;

interface LiveJob {
  readonly id: string;
  readonly controller: AbortController;
  /** The latest progress not yet posted. */
  pending: JobProgress | null;
  lastPostedAt: number;
  timer: ReturnType<typeof setTimeout> | null;
  ended: boolean;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class JobRunner {
  private readonly live = new Map<string, LiveJob>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: PostJobEvent,
    /** The backend jobs run on (the worker's, shared with the race). */
    private readonly backend: () => Promise<Backend>,
    private readonly registry: Readonly<Record<JobKind, JobDefinition<never, unknown>>>,
  ) {}

  /** Handle 'job-start' or 'job-cancel'; never throws. Resolves once a started job was queued (not when it ends). */
  handle(command: JobCommand): void {
    const problem = commandProblem(command);
    if (problem) {
      const jobId = typeof (command as { jobId?: unknown })?.jobId === 'string' ? (command as { jobId: string }).jobId : '';
      this.post({ type: 'job-error', jobId, messages: [problem], cancelled: false });
      return;
    }
    if (command.type === 'job-cancel') {
      this.live.get(command.jobId)?.controller.abort();
      return;
    }
    this.start(command);
  }

  /** Resolves when every job queued so far has ended. */
  settled(): Promise<void> {
    return this.queue;
  }

  private start(command: Extract<JobCommand, { type: 'job-start' }>): void {
    const { jobId, kind } = command;
    if (this.live.has(jobId)) {
      this.post({ type: 'job-error', jobId, messages: [`job-start.jobId: job "${jobId}" is still running`], cancelled: false });
      return;
    }
    const definition = this.registry[kind] as JobDefinition<unknown, unknown>;
    let config: unknown;
    try {
      config = definition.parseConfig(command.config);
    } catch (e) {
      const messages = e instanceof JobConfigError ? [...e.messages] : [`${kind}: ${describe(e)}`];
      this.post({ type: 'job-error', jobId, messages, cancelled: false });
      return;
    }
    const job: LiveJob = {
      id: jobId,
      controller: new AbortController(),
      pending: null,
      lastPostedAt: -Infinity,
      timer: null,
      ended: false,
    };
    this.live.set(jobId, job);
    this.queue = this.queue.then(() => this.execute(job, definition, config));
  }

  private async execute(job: LiveJob, definition: JobDefinition<unknown, unknown>, config: unknown): Promise<void> {
    const { signal } = job.controller;
    try {
      if (signal.aborted) throw new JobCancelledError();
      const backend = await this.backend();
      if (signal.aborted) throw new JobCancelledError();
      const output = await definition.run(config, { backend, signal, progress: (p) => this.progress(job, p) });
      if (signal.aborted) throw new JobCancelledError();
      this.end(job, { type: 'job-result', jobId: job.id, result: output.result }, output.transfer);
    } catch (e) {
      const cancelled = signal.aborted || e instanceof JobCancelledError;
      const messages = cancelled
        ? ['the job was cancelled']
        : e instanceof JobConfigError
          ? [...e.messages]
          : [`${definition.kind}: ${describe(e)}`];
      this.end(job, { type: 'job-error', jobId: job.id, messages, cancelled });
    }
  }

  private progress(job: LiveJob, progress: JobProgress): void {
    if (job.ended || job.controller.signal.aborted) return;
    job.pending = { ...progress, ...(progress.values ? { values: { ...progress.values } } : {}) };
    const wait = job.lastPostedAt + JOB_PROGRESS_INTERVAL_MS - performance.now();
    if (wait <= 0) this.flushProgress(job);
    else job.timer ??= setTimeout(() => this.flushProgress(job), wait);
  }

  private flushProgress(job: LiveJob): void {
    if (job.timer !== null) clearTimeout(job.timer);
    job.timer = null;
    if (job.pending === null || job.ended) return;
    const progress = job.pending;
    job.pending = null;
    job.lastPostedAt = performance.now();
    this.post({ type: 'job-progress', jobId: job.id, progress });
  }

  private end(job: LiveJob, event: LabEvent, transfer?: Transferable[]): void {
    // A cancelled job's last progress is stale; a finished job's is its final state.
    if (event.type === 'job-result') this.flushProgress(job);
    if (job.timer !== null) clearTimeout(job.timer);
    job.timer = null;
    job.pending = null;
    job.ended = true;
    this.live.delete(job.id);
    this.post(event, transfer);
  }

  private post(event: LabEvent, transfer?: Transferable[]): void {
    try {
      this.send(event, transfer);
    } catch (e) {
      if (event.type === 'job-result') {
        // E.g. a result that cannot be cloned: the page must still hear that the job ended.
        this.send({
          type: 'job-error',
          jobId: event.jobId,
          messages: [`could not send the job's result: ${describe(e)}`],
          cancelled: false,
        });
      }
    }
  }
}
