// The worker's generic jobs (src/worker/jobs/): command validation, the order of events (progress,
// then exactly one result or error), throttled progress, cancel of a queued and of a running job,
// and the 'train' job on the CPU backend: it trains the preset's model, returns a checkpoint that
// restores into a fresh model, and stops when cancelled.
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { decodeCheckpoint, restoreCheckpoint } from '../../src/engine/checkpoint/checkpoint.ts';
import { loadTask } from '../../src/engine/lab/tasks.ts';
import { JobRunner, type JobCommand } from '../../src/worker/jobs/job-runner.ts';
import { JobConfigError, throwIfCancelled, type JobDefinition } from '../../src/worker/jobs/job.ts';
import { parseCurvatureConfig, type CurvatureJobResult } from '../../src/worker/jobs/curvature-job.ts';
import { JOBS } from '../../src/worker/jobs/registry.ts';
import { defaultTrainOptimizer, parseTrainConfig, type TrainJobResult } from '../../src/worker/jobs/train-job.ts';
import { commandProblem, JOB_PROGRESS_INTERVAL_MS, type JobKind, type LabEvent } from '../../src/worker/protocol.ts';

const backend = new CpuBackend();
afterAll(() => backend.destroy());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type JobEvent = Extract<LabEvent, { type: 'job-progress' | 'job-result' | 'job-error' }>;

function recorder() {
  const events: JobEvent[] = [];
  const post = (event: LabEvent) => {
    if (event.type === 'job-progress' || event.type === 'job-result' || event.type === 'job-error') events.push(event);
  };
  const of = (jobId: string) => events.filter((e) => e.jobId === jobId);
  return { events, post, of };
}

/** A test job: `units` units of `ms` each, reporting progress after each; checks its signal between units. */
const countJob: JobDefinition<{ units: number; ms: number; fail?: boolean }, { counted: number }> = {
  kind: 'train',
  about: 'counts',
  parseConfig(value) {
    const v = value as { units?: unknown; ms?: unknown; fail?: unknown };
    if (typeof v?.units !== 'number' || v.units < 0) throw new JobConfigError([`count.units: expected a count, got ${String(v?.units)}`]);
    return { units: v.units, ms: typeof v.ms === 'number' ? v.ms : 1, fail: v.fail === true };
  },
  async run(config, { signal, progress }) {
    for (let i = 1; i <= config.units; i++) {
      await sleep(config.ms);
      throwIfCancelled(signal);
      if (config.fail && i === 2) throw new Error('unit 2 failed');
      progress({ stage: 'counting', done: i, total: config.units, values: { i } });
    }
    return { result: { counted: config.units } };
  },
};

function runner(post: (e: LabEvent) => void) {
  const registry = { train: countJob, curvature: countJob } as unknown as Record<JobKind, JobDefinition<never, unknown>>;
  return new JobRunner(post, async () => backend, registry);
}

const start = (jobId: string, config: unknown, kind: JobKind = 'train'): JobCommand => ({ type: 'job-start', jobId, kind, config });

describe('job commands', () => {
  it('are validated: kind, job id, and the known command types', () => {
    expect(commandProblem({ type: 'job-start', jobId: 'a1', kind: 'train', config: {} })).toBeNull();
    expect(commandProblem({ type: 'job-start', jobId: 'a1', kind: 'bake', config: {} })).toMatch(
      /job-start\.kind: unknown job kind "bake"/,
    );
    expect(commandProblem({ type: 'job-start', jobId: '', kind: 'train', config: {} })).toMatch(/job-start\.jobId/);
    expect(commandProblem({ type: 'job-start', jobId: '<img src=x>', kind: 'train', config: {} })).toMatch(/job-start\.jobId/);
    expect(commandProblem({ type: 'job-cancel', jobId: 7 })).toMatch(/job-cancel\.jobId/);
    expect(commandProblem({ type: 'capture-run', requestId: 'r1', run: -1 })).toMatch(/capture-run\.run/);
    expect(commandProblem({ type: 'capture-run', requestId: 'r1', run: 0 })).toBeNull();
  });

  it('a refused config or command ends the job with one error naming the field; nothing runs', async () => {
    const rec = recorder();
    const jobs = runner(rec.post);
    jobs.handle(start('bad', { units: -1 }));
    jobs.handle({ type: 'job-start', jobId: 'k', kind: 'nope', config: {} } as unknown as JobCommand);
    await jobs.settled();
    expect(rec.of('bad')).toEqual([
      { type: 'job-error', jobId: 'bad', messages: ['count.units: expected a count, got -1'], cancelled: false },
    ]);
    expect(rec.of('k')).toHaveLength(1);
    expect(rec.of('k')[0]).toMatchObject({ type: 'job-error', cancelled: false, messages: [expect.stringMatching(/unknown job kind/)] });
  });
});

describe('JobRunner', () => {
  it('progress, then one result; jobs run one at a time in order', async () => {
    const rec = recorder();
    const jobs = runner(rec.post);
    jobs.handle(start('a', { units: 3, ms: 2 }));
    jobs.handle(start('b', { units: 2, ms: 2 }));
    await jobs.settled();
    for (const [id, units] of [
      ['a', 3],
      ['b', 2],
    ] as const) {
      const events = rec.of(id);
      expect(events.at(-1)).toEqual({ type: 'job-result', jobId: id, result: { counted: units } });
      expect(events.slice(0, -1).every((e) => e.type === 'job-progress')).toBe(true);
      // The last progress before the result is the final state.
      expect(events.at(-2)).toMatchObject({ type: 'job-progress', progress: { done: units, total: units } });
    }
    // b started after a ended.
    const endA = rec.events.findIndex((e) => e.jobId === 'a' && e.type === 'job-result');
    const firstB = rec.events.findIndex((e) => e.jobId === 'b');
    expect(firstB).toBeGreaterThan(endA);
  });

  it('throttles progress to one event per interval', async () => {
    const rec = recorder();
    const jobs = runner(rec.post);
    // 60 units of ~1 ms: far more reports than intervals.
    const t0 = performance.now();
    jobs.handle(start('fast', { units: 60, ms: 1 }));
    await jobs.settled();
    const elapsed = performance.now() - t0;
    const progress = rec.of('fast').filter((e) => e.type === 'job-progress');
    // One at the start of each interval, plus the final state before the result.
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(elapsed / JOB_PROGRESS_INTERVAL_MS) + 1);
    expect(progress.length).toBeLessThan(60);
    const done = progress.map((e) => (e.type === 'job-progress' ? e.progress.done : 0));
    expect([...done].sort((x, y) => x - y)).toEqual(done); // in order
    expect(done.at(-1)).toBe(60);
  });

  it('a failing job ends with its error and no result', async () => {
    const rec = recorder();
    const jobs = runner(rec.post);
    jobs.handle(start('f', { units: 5, ms: 1, fail: true }));
    await jobs.settled();
    const events = rec.of('f');
    expect(events.at(-1)).toEqual({ type: 'job-error', jobId: 'f', messages: ['train: unit 2 failed'], cancelled: false });
    expect(events.filter((e) => e.type !== 'job-progress')).toHaveLength(1);
  });

  it('cancel stops a running job (no progress after, one cancelled error) and a queued one before it starts', async () => {
    const rec = recorder();
    const jobs = runner(rec.post);
    jobs.handle(start('long', { units: 1000, ms: 2 }));
    jobs.handle(start('queued', { units: 3, ms: 1 }));
    jobs.handle(start('after', { units: 2, ms: 1 }));
    await sleep(30);
    jobs.handle({ type: 'job-cancel', jobId: 'queued' });
    jobs.handle({ type: 'job-cancel', jobId: 'long' });
    await jobs.settled();
    const long = rec.of('long');
    expect(long.at(-1)).toEqual({ type: 'job-error', jobId: 'long', messages: ['the job was cancelled'], cancelled: true });
    expect(long.filter((e) => e.type !== 'job-progress')).toHaveLength(1);
    const lastDone = long.filter((e) => e.type === 'job-progress').map((e) => (e.type === 'job-progress' ? e.progress.done : 0));
    expect(Math.max(0, ...lastDone)).toBeLessThan(1000);
    expect(rec.of('queued')).toEqual([{ type: 'job-error', jobId: 'queued', messages: ['the job was cancelled'], cancelled: true }]);
    // The queue goes on after a cancel.
    expect(rec.of('after').at(-1)).toEqual({ type: 'job-result', jobId: 'after', result: { counted: 2 } });
    // Cancelling a job that has ended changes nothing.
    jobs.handle({ type: 'job-cancel', jobId: 'after' });
    await jobs.settled();
    expect(rec.of('after').filter((e) => e.type !== 'job-progress')).toHaveLength(1);
  });

  it('refuses a second job with the id of a live one', async () => {
    const rec = recorder();
    const jobs = runner(rec.post);
    jobs.handle(start('same', { units: 3, ms: 2 }));
    jobs.handle(start('same', { units: 1, ms: 1 }));
    await jobs.settled();
    const ends = rec.of('same').filter((e) => e.type !== 'job-progress');
    expect(ends).toEqual([
      { type: 'job-error', jobId: 'same', messages: ['job-start.jobId: job "same" is still running'], cancelled: false },
      { type: 'job-result', jobId: 'same', result: { counted: 3 } },
    ]);
  });
});

describe('the train job', () => {
  it('parses its config with the preset as defaults and names bad fields', () => {
    expect(parseTrainConfig({ task: 'mlp-spirals', steps: 5 })).toMatchObject({ task: 'mlp-spirals', steps: 5, seed: 1, batchSize: 32 });
    expect(parseTrainConfig({ task: 'vit-mnist' }).optimizer).toBe('kfac-reduce');
    expect(parseTrainConfig({ task: 'transformer-modular' }).optimizer).toBe('kfac-expand');
    expect(() => parseTrainConfig({ task: 'mnist-cat', steps: 0, colour: 'red' })).toThrow(JobConfigError);
    try {
      parseTrainConfig({ task: 'mnist-cat', steps: 0, colour: 'red' });
    } catch (e) {
      const messages = (e as JobConfigError).messages;
      expect(messages).toHaveLength(3);
      expect(messages.join('\n')).toMatch(/train\.colour: unknown field/);
      expect(messages.join('\n')).toMatch(/train\.task: expected one of/);
      expect(messages.join('\n')).toMatch(/train\.steps: expected a whole number/);
    }
    expect(() => parseTrainConfig([1])).toThrow(/expected a config object, got an array/);
  });

  it('trains on the CPU backend with progress and returns a checkpoint that restores into a fresh model', async () => {
    const rec = recorder();
    const jobs = new JobRunner(rec.post, async () => backend, JOBS);
    jobs.handle(start('t', { task: 'mlp-spirals', steps: 12, seed: 2 }));
    await jobs.settled();
    const events = rec.of('t');
    const end = events.at(-1)!;
    if (end.type !== 'job-result') throw new Error(`expected a result, got ${JSON.stringify(end)}`);
    const result = end.result as TrainJobResult;
    expect(result).toMatchObject({ task: 'mlp-spirals', steps: 12, optimizer: defaultTrainOptimizer('mlp-spirals') });
    expect(Number.isFinite(result.finalLoss)).toBe(true);
    expect(result.valAccuracy).toBeGreaterThanOrEqual(0);
    expect(events.some((e) => e.type === 'job-progress' && e.progress.stage === 'training')).toBe(true);

    const checkpoint = decodeCheckpoint(result.checkpoint);
    expect(checkpoint).toMatchObject({
      task: 'mlp-spirals',
      seed: 2,
      step: 12,
      origin: { optimizer: defaultTrainOptimizer('mlp-spirals') },
    });
    const placed = (await loadTask('mlp-spirals')).place(backend);
    const fresh = placed.buildModel(2);
    try {
      const before = await fresh.parameters()[0].variable.value.read();
      restoreCheckpoint(fresh, checkpoint, { task: 'mlp-spirals' });
      const after = await fresh.parameters()[0].variable.value.read();
      // Trained weights differ from the seed's initial ones and equal the checkpoint's.
      expect(Array.from(after)).toEqual(Array.from(checkpoint.params[0].data));
      expect(Array.from(after)).not.toEqual(Array.from(before));
    } finally {
      fresh.dispose();
      placed.dispose();
    }
  });

  it('stops when cancelled mid-training', async () => {
    const rec = recorder();
    const jobs = new JobRunner(rec.post, async () => backend, JOBS);
    jobs.handle(start('c', { task: 'mlp-spirals', steps: 5000 }));
    for (let i = 0; i < 200 && !rec.of('c').some((e) => e.type === 'job-progress' && e.progress.stage === 'training'); i++) await sleep(20);
    jobs.handle({ type: 'job-cancel', jobId: 'c' });
    await jobs.settled();
    const events = rec.of('c');
    expect(events.at(-1)).toMatchObject({ type: 'job-error', cancelled: true });
    const trained = events.filter((e) => e.type === 'job-progress').map((e) => (e.type === 'job-progress' ? e.progress.done : 0));
    expect(Math.max(...trained)).toBeLessThan(5000);
  });
});

describe('the curvature job', () => {
  it('refuses a bad config field by field', () => {
    expect(() => parseCurvatureConfig({ task: 'mlp-spirals', model: { kind: 'checkpoint', bytes: 'abc' }, examples: 0 })).toThrow(
      /curvature\.model\.bytes: expected the checkpoint's bytes.*; curvature\.examples: expected a whole number/,
    );
    expect(() => parseCurvatureConfig({ task: 'mlp-spirals', model: { kind: 'zoo' } })).toThrow(/curvature\.model\.kind/);
  });

  it("reports a trained model's curvature on the CPU backend: both approximations, the exact block, EK-FAC fitting at least as well", async () => {
    const rec = recorder();
    const jobs = new JobRunner(rec.post, async () => backend, JOBS);
    jobs.handle(start('t', { task: 'mlp-spirals', steps: 8, seed: 2 }));
    await jobs.settled();
    const trained = rec.of('t').at(-1) as Extract<JobEvent, { type: 'job-result' }>;
    const bytes = (trained.result as TrainJobResult).checkpoint;
    jobs.handle(start('c', { task: 'mlp-spirals', model: { kind: 'checkpoint', bytes }, examples: 64 }, 'curvature'));
    await jobs.settled();
    const end = rec.of('c').at(-1)!;
    if (end.type !== 'job-result') throw new Error(`expected a result, got ${JSON.stringify(end)}`);
    const { report, model } = end.result as CurvatureJobResult;
    expect(model).toMatchObject({ kind: 'checkpoint', step: 8, seed: 2 });
    expect(report.examples).toBe(64);
    expect(report.layers.length).toBeGreaterThan(0);
    for (const layer of report.layers) {
      expect(layer.exact, layer.name).not.toBeNull();
      expect(layer.exact!.eigenvalues).toHaveLength(layer.params);
      for (const approx of [layer.expand, layer.reduce]) {
        expect(approx.fit).not.toBeNull();
        expect(approx.fit!.ekfac).toBeLessThanOrEqual(approx.fit!.kfac + 1e-9);
        expect(approx.kfac.length).toBeGreaterThan(0);
      }
    }
    // The last progress before the result is the report's final state.
    const last = rec.of('c').at(-2)!;
    if (last.type !== 'job-progress') throw new Error('expected progress before the result');
    expect(last.progress.done).toBe(last.progress.total);
    expect(last.progress.total).toBeGreaterThanOrEqual(3 * report.batches);
  });

  it('refuses a checkpoint of another task', async () => {
    const rec = recorder();
    const jobs = new JobRunner(rec.post, async () => backend, JOBS);
    jobs.handle(start('t', { task: 'mlp-spirals', steps: 2 }));
    await jobs.settled();
    const bytes = ((rec.of('t').at(-1) as Extract<JobEvent, { type: 'job-result' }>).result as TrainJobResult).checkpoint;
    jobs.handle(start('c', { task: 'gcn-node', model: { kind: 'checkpoint', bytes } }, 'curvature'));
    await jobs.settled();
    expect(rec.of('c').at(-1)).toMatchObject({
      type: 'job-error',
      cancelled: false,
      messages: [expect.stringMatching(/model of task "mlp-spirals", not of "gcn-node"/)],
    });
  });
});
