// The lab worker's session in Node: the event stream of a run (status, started, metric batches that
// cover every step, run-end, done), pause / single step / resume, reset, invalid configs, a
// diverging run beside a healthy one, curvature snapshots; and on WebGPU (Dawn) a run and a lost
// device (device-lost, a new backend, the runs resumed from their host copies and finished).
import { afterEach, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { KFAC_PHASES } from '../../src/engine/optim/kfac/types.ts';
import { Experiment } from '../../src/engine/lab/experiment.ts';
import type { ExperimentConfig } from '../../src/engine/lab/experiment-config.ts';
import type { MetricPoint } from '../../src/engine/lab/results.ts';
import type { TaskId } from '../../src/engine/lab/tasks.ts';
import { HOST_COPY_INTERVAL } from '../../src/engine/lab/host-copy.ts';
import { LabSession } from '../../src/worker/lab-session.ts';
import { openLabBackend, reportFor, type BackendOpener } from '../../src/worker/gpu-status.ts';
import { metricsTransferList, unpackMetrics, type LabEvent, type LabStatus } from '../../src/worker/protocol.ts';

type EventOf<T extends LabEvent['type']> = Extract<LabEvent, { type: T }>;

/** Collects events as a page would receive them (structured clone, typed arrays transferred). */
class Recorder {
  readonly events: LabEvent[] = [];
  private waiters: { test: (e: LabEvent) => boolean; resolve: (e: LabEvent) => void }[] = [];

  readonly post = (event: LabEvent, transfer?: Transferable[]) => {
    if (event.type === 'metrics') expect(transfer).toEqual(metricsTransferList(event.batch));
    const received = structuredClone(event, { transfer: transfer as Transferable[] | undefined }) as LabEvent;
    this.events.push(received);
    for (const w of [...this.waiters]) {
      if (w.test(received)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(received);
      }
    }
  };

  of<T extends LabEvent['type']>(type: T, from = 0): EventOf<T>[] {
    return this.events.slice(from).filter((e): e is EventOf<T> => e.type === type);
  }

  statuses(from = 0): LabStatus[] {
    return this.of('status', from).map((e) => e.status);
  }

  points(from = 0): MetricPoint[] {
    return this.of('metrics', from).flatMap((e) => unpackMetrics(e.batch));
  }

  /** The first event (from index `from`) of this type passing `test`, now or later. */
  next<T extends LabEvent['type']>(
    type: T,
    test: (e: EventOf<T>) => boolean = () => true,
    from = 0,
    timeoutMs = 60_000,
  ): Promise<EventOf<T>> {
    const match = (e: LabEvent): e is EventOf<T> => e.type === type && test(e as EventOf<T>);
    const seen = this.events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${type}' event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        test: match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as EventOf<T>);
        },
      });
    });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cpuOpener: BackendOpener = async () => {
  const backend = new CpuBackend();
  return { backend, report: reportFor(backend, 'chosen-cpu') };
};

const sessions: LabSession[] = [];

function newSession(opener: BackendOpener = cpuOpener): { session: LabSession; rec: Recorder } {
  const rec = new Recorder();
  const session = new LabSession(rec.post, opener);
  sessions.push(session);
  return { session, rec };
}

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.dispose()));
});

const spirals = (overrides: Partial<ExperimentConfig> = {}): ExperimentConfig => ({
  task: 'mlp-spirals',
  batchSize: 32,
  steps: 6,
  seed: 3,
  evalInterval: 3,
  target: null,
  optimizers: [
    { id: 'sgd', hyper: { lr: 0.1 } },
    { id: 'kfac-reduce', hyper: { lr: 0.05, damping: 0.01 } },
  ],
  ...overrides,
});

/** Every run has exactly the steps 1 … steps, in order. */
function expectEveryStep(points: MetricPoint[], runs: number, steps: number): void {
  for (let run = 0; run < runs; run++) {
    expect(points.filter((p) => p.run === run).map((p) => p.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
  }
}

describe('a run on the CPU backend', () => {
  it('posts started, metric batches covering every step, run-end per run, done; statuses in order', async () => {
    const { session, rec } = newSession();
    await session.handle({ type: 'start', config: spirals() });
    const done = await rec.next('done');
    await session.settled();

    expect(rec.events[0]).toMatchObject({
      type: 'backend',
      report: { webgpu: false, failureKind: 'chosen-cpu', device: { backend: 'cpu' } },
    });
    expect(rec.statuses()).toEqual(['preparing', 'running', 'done']);
    const types = rec.events.map((e) => e.type);
    const startedAt = types.indexOf('started');
    expect(startedAt).toBeGreaterThan(0);
    expect(types.indexOf('metrics')).toBeGreaterThan(startedAt);
    expect(types.lastIndexOf('metrics')).toBeLessThan(types.indexOf('done'));

    const started = rec.of('started')[0];
    expect(started.runs).toEqual([
      { label: 'sgd', optimizer: 'sgd' },
      { label: 'kfac-reduce', optimizer: 'kfac-reduce' },
    ]);
    expect(started.parameterCount).toBe(2 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2);
    expect(started.config.steps).toBe(6);
    expect(Object.keys(started.kfacLayers)).toEqual(['1']);
    expect(started.kfacLayers[1]).toHaveLength(3);

    const points = rec.points();
    expectEveryStep(points, 2, 6);
    for (const p of points) {
      expect(Number.isFinite(p.trainLoss)).toBe(true);
      expect(p.valMetric !== undefined).toBe(p.step % 3 === 0);
    }
    // Flushes are batched: far fewer messages than points would be sent one by one... at least not more.
    expect(rec.of('metrics').length).toBeLessThanOrEqual(points.length);

    const phases = rec.of('phases').at(-1)!.totals;
    expect(Object.keys(phases[0]).sort()).toEqual(['backward', 'forward', 'update']);
    expect(Object.keys(phases[1]).sort()).toEqual([...KFAC_PHASES].sort());

    const ends = rec.of('run-end');
    expect(ends.map((e) => e.run).sort()).toEqual([0, 1]);
    for (const e of ends) {
      expect(e.result.error).toBeUndefined();
      expect(e.result.stepsCompleted).toBe(6);
      const mine = points.filter((p) => p.run === e.run);
      expect(e.result.history.trainLoss).toEqual(mine.map((p) => p.trainLoss));
      // A run's last points are posted before its end.
      const endIndex = rec.events.indexOf(e);
      const lastPointBatch = rec.events.findLastIndex((x) => x.type === 'metrics' && x.batch.run.includes(e.run));
      expect(lastPointBatch).toBeLessThan(endIndex);
    }
    expect(done.result.stopped).toBe(false);
    expect(done.result.runs.map((r) => r.stepsCompleted)).toEqual([6, 6]);
  });

  it('lists the K-FAC layers before the first step exactly as the optimizer will name them', async () => {
    const backend = new CpuBackend();
    const tasks: TaskId[] = ['mlp-spirals', 'gcn-graph', 'transformer-modular', 'cnn-mnist'];
    for (const task of tasks) {
      const experiment = await Experiment.create(backend, {
        task,
        batchSize: 4,
        steps: 1,
        seed: 1,
        evalInterval: 100,
        optimizers: [{ id: 'kfac-expand' }],
      });
      try {
        const listed = experiment.curvatureLayerNames();
        await experiment.run();
        const curvature = experiment.optimizers[0].curvature;
        expect(curvature, task).toBeDefined();
        expect(listed, task).toEqual(curvature?.layerNames);
        expect(listed.length, task).toBeGreaterThan(0);
      } finally {
        experiment.dispose();
      }
    }
  });
});

describe('controls', () => {
  it('starts paused; each step advances exactly one interleaved step; resume runs to the end', async () => {
    const { session, rec } = newSession();
    await session.handle({ type: 'start', config: spirals({ steps: 5 }), paused: true });
    expect(rec.statuses()).toEqual(['preparing', 'paused']);
    await sleep(150);
    expect(rec.points()).toHaveLength(0);

    for (const step of [1, 2]) {
      await session.handle({ type: 'step' });
      await rec.next('metrics', (e) => e.batch.step.includes(step) && e.batch.run.includes(1));
      await sleep(150);
      const points = rec.points();
      expectEveryStep(points, 2, step);
      expect(rec.of('metrics').length).toBeGreaterThan(0);
    }
    expect(rec.statuses()).toEqual(['preparing', 'paused']);

    await session.handle({ type: 'resume' });
    await rec.next('done');
    expect(rec.statuses()).toEqual(['preparing', 'paused', 'running', 'done']);
    expectEveryStep(rec.points(), 2, 5);
  });

  it("pause: 'paused' comes at the next step boundary, after the last point, and nothing after it; step while paused adds one step; step while running is ignored", async () => {
    const { session, rec } = newSession();
    await session.handle({ type: 'start', config: spirals({ steps: 2000 }) });
    await session.handle({ type: 'step' }); // running: ignored
    await rec.next('metrics');
    await session.handle({ type: 'pause' });
    // A step under way when pause arrived finishes; its points are sent before the status.
    await rec.next('status', (e) => e.status === 'paused');
    expect(rec.statuses()).toEqual(['preparing', 'running', 'paused']);
    const pausedAt = rec.events.findIndex((e) => e.type === 'status' && e.status === 'paused');
    const atPause = rec.points();
    const lastStep = Math.max(...atPause.map((p) => p.step));
    expectEveryStep(atPause, 2, lastStep);
    await sleep(200);
    expect(rec.points()).toHaveLength(atPause.length);
    expect(rec.events.slice(pausedAt + 1).filter((e) => e.type === 'metrics')).toHaveLength(0);

    await session.handle({ type: 'step' });
    await rec.next('metrics', (e) => e.batch.step.includes(lastStep + 1) && e.batch.run.includes(1));
    await sleep(150);
    expectEveryStep(rec.points(), 2, lastStep + 1);
    expect(lastStep + 1).toBeLessThan(2000);

    await session.handle({ type: 'reset' });
    expect(rec.statuses().at(-1)).toBe('idle');
  });

  it('reset mid-run: done (stopped), idle, and nothing after', async () => {
    const { session, rec } = newSession();
    await session.handle({ type: 'start', config: spirals({ steps: 2000 }) });
    await rec.next('metrics');
    await session.handle({ type: 'reset' });
    const idleAt = rec.events.findIndex((e) => e.type === 'status' && e.status === 'idle');
    expect(idleAt).toBeGreaterThan(0);
    const done = rec.of('done')[0];
    expect(done.result.stopped).toBe(true);
    expect(rec.events.indexOf(done)).toBeLessThan(idleAt);
    const steps = done.result.runs.map((r) => r.stepsCompleted);
    expect(Math.max(...steps)).toBeLessThan(2000);
    // Runs stopped by reset are not failures.
    for (const e of rec.of('run-end')) expect(e.result.error).toBeUndefined();
    await sleep(200);
    expect(rec.events.length).toBe(idleAt + 1);
    // The streamed points match the stopped result.
    expect(rec.points().filter((p) => p.run === 0)).toHaveLength(steps[0]);

    // Another experiment starts cleanly afterwards.
    await session.handle({ type: 'start', config: spirals({ steps: 2 }) });
    await rec.next('done', (e) => !e.result.stopped);
    expect(rec.statuses().slice(-3)).toEqual(['preparing', 'running', 'done']);
  });

  it('start while running stops the running experiment first; an invalid start cancels nothing', async () => {
    const { session, rec } = newSession();
    await session.handle({ type: 'start', config: spirals({ steps: 2000 }) });
    await rec.next('metrics');
    await session.handle({ type: 'start', config: spirals({ steps: -1 }) });
    expect(rec.of('error')[0].messages[0]).toMatch(/^steps:/);
    expect(rec.statuses()).toEqual(['preparing', 'running']);
    await session.handle({ type: 'start', config: spirals({ steps: 2 }) });
    const [first, second] = [await rec.next('done'), await rec.next('done', (e) => e.result.config.steps === 2)];
    expect(first.result.stopped).toBe(true);
    expect(rec.events.indexOf(first)).toBeLessThan(rec.events.indexOf(rec.of('started')[1]));
    expect(second.result.stopped).toBe(false);
    expect(rec.statuses()).toEqual(['preparing', 'running', 'preparing', 'running', 'done']);
  });

  it('invalid configs and commands become error events naming the field; nothing starts', async () => {
    const { session, rec } = newSession();
    await session.handle({ type: 'start', config: { ...spirals(), batchSize: 0, optimizers: [{ id: 'lbfgs' as never }] } });
    const [error] = rec.of('error');
    expect(error.messages.some((m) => m.startsWith('batchSize:'))).toBe(true);
    expect(error.messages.some((m) => m.startsWith('optimizers[0].id:'))).toBe(true);
    await session.handle({ type: 'start', config: spirals({ batchSize: 4096 }) }); // more than the 512 training points
    expect(rec.of('error')[1].messages[0]).toMatch(/^batchSize: 4096 exceeds the 512 training examples/);
    await session.handle({ type: 'warp' } as never);
    expect(rec.of('error')[2].messages[0]).toMatch(/^command\.type: unknown command "warp"/);
    await session.handle({ type: 'curvature', run: 0, layer: null, every: 0 });
    expect(rec.of('error')[3].messages[0]).toMatch(/^curvature\.every/);
    expect(rec.of('started')).toHaveLength(0);
    expect(rec.of('metrics')).toHaveLength(0);
    expect(rec.statuses()).not.toContain('running');
    expect(rec.statuses().at(-1) ?? 'idle').toBe('idle');
  });

  it('a diverging run ends with its error while the other finishes', async () => {
    const { session, rec } = newSession();
    await session.handle({
      type: 'start',
      config: {
        task: 'gcn-node',
        batchSize: 1,
        steps: 10,
        seed: 1,
        evalInterval: 5,
        optimizers: [
          { id: 'sgd', hyper: { lr: 0.1 } },
          { id: 'kfac-reduce', label: 'too fast', hyper: { lr: 10, damping: 1e-8, klClip: 0, momentum: 0.99, inverseWarmup: 0 } },
        ],
      },
    });
    const done = await rec.next('done');
    const [healthy, diverged] = [0, 1].map((run) => rec.of('run-end').find((e) => e.run === run)!.result);
    expect(diverged.error).toMatch(
      /^step \d+: (training loss is (NaN|Infinity|-Infinity) \(diverged\)|KfacNumericalError: .*); run stopped$/,
    );
    expect(diverged.stepsCompleted).toBeLessThan(10);
    expect(healthy.error).toBeUndefined();
    expect(healthy.stepsCompleted).toBe(10);
    expect(done.result.stopped).toBe(false);
    expect(rec.statuses().at(-1)).toBe('done');
    // The diverged run's end comes before the healthy run's later points.
    const divergedEnd = rec.events.findIndex((e) => e.type === 'run-end' && e.run === 1);
    expect(rec.points(divergedEnd).some((p) => p.run === 0)).toBe(true);
  });
});

describe('curvature', () => {
  it('snapshots the selected K-FAC run every few steps, on request after the end, and skips other runs', async () => {
    const { session, rec } = newSession();
    await session.handle({ type: 'curvature', run: 0, layer: null, every: 2 });
    await session.handle({
      type: 'start',
      config: spirals({ optimizers: [{ id: 'kfac-expand', hyper: { lr: 0.05 } }, { id: 'adam' }] }),
    });
    await rec.next('done');
    await session.settled();
    const layers = rec.of('started')[0].kfacLayers[0];
    expect(layers).toHaveLength(3);

    let snaps = rec.of('curvature');
    expect(snaps.length).toBeGreaterThanOrEqual(2);
    expect(snaps.at(-1)!.step).toBe(6); // the final state after the end
    for (const { run, step, snapshot } of snaps) {
      expect(run).toBe(0);
      expect(step).toBeGreaterThanOrEqual(1);
      expect(snapshot.layer).toBe(layers[0]);
      expect(snapshot.approx).toBe('expand');
      // First layer of the 2-32-32-2 MLP: A is 3×3 (2 inputs + folded bias), G 32×32.
      expect([snapshot.inputFactor.n, snapshot.inputFactor.cells, snapshot.gradFactor.n, snapshot.gradFactor.cells]).toEqual([
        3, 3, 32, 32,
      ]);
      expect(snapshot.eigA).toHaveLength(3);
      expect(snapshot.eigG).toHaveLength(32);
      expect(snapshot.kron).toHaveLength(96);
      expect(snapshot.eigA[0]).toBeGreaterThan(0);
      expect(snapshot.eigA[0]).toBeGreaterThanOrEqual(snapshot.eigA[2]);
      expect(Array.from(snapshot.kron).every(Number.isFinite)).toBe(true);
    }

    // After the end: a new selection is answered at once.
    const before = rec.events.length;
    await session.handle({ type: 'curvature', run: 0, layer: layers[1], every: 1 });
    const second = await rec.next('curvature', () => true, before);
    expect(second.snapshot.layer).toBe(layers[1]);
    expect([second.snapshot.inputFactor.n, second.snapshot.gradFactor.n]).toEqual([33, 32]);
    expect(second.step).toBe(6);

    // Adam has no factors: nothing is sent. An unknown layer is an error.
    snaps = rec.of('curvature');
    await session.handle({ type: 'curvature', run: 1, layer: null, every: 1 });
    await sleep(100);
    expect(rec.of('curvature')).toHaveLength(snaps.length);
    await session.handle({ type: 'curvature', run: 0, layer: 'nope', every: 1 });
    expect(rec.of('error').at(-1)!.messages[0]).toMatch(/^curvature\.layer: run 0 has no K-FAC layer "nope"/);
    await session.handle({ type: 'curvature', run: 5, layer: null, every: 1 });
    expect(rec.of('error').at(-1)!.messages[0]).toMatch(/^curvature\.run: 5 is not a run/);
  });
});

describe('on WebGPU (Dawn)', () => {
  it('runs to done; after a lost device the runs resume on a new device from their last host copy and finish', async () => {
    const { session, rec } = newSession(openLabBackend); // the real opener: requestWebGPU, else the CPU
    await session.handle({ type: 'open', prefer: 'webgpu' });
    const backend = rec.of('backend')[0].report;
    console.log(`[lab-session webgpu] ${backend.device.summary}`);
    expect(backend).toMatchObject({ webgpu: true, failureKind: null, device: { backend: 'webgpu' } });

    await session.handle({ type: 'start', config: spirals({ steps: 3, evalInterval: 3 }) });
    const first = await rec.next('done');
    expect(first.result.runs.map((r) => [r.stepsCompleted, r.error])).toEqual([
      [3, undefined],
      [3, undefined],
    ]);
    expectEveryStep(rec.points(), 2, 3);

    // Lose the device after the first host copy (every HOST_COPY_INTERVAL steps).
    const steps = HOST_COPY_INTERVAL + 15;
    const from = rec.events.length;
    await session.handle({ type: 'start', config: spirals({ steps, evalInterval: 10 }) });
    await rec.next('metrics', (e) => Array.from(e.batch.step).some((s) => s > HOST_COPY_INTERVAL), from);
    await session.handle({ type: 'lose-device' });
    const lost = await rec.next('device-lost', () => true, from);
    expect(lost.recovered).toBe(true);
    expect(lost.message).toMatch(/GPU device was lost at step \d+ .*The runs continue on .* from their last host copy/);
    expect(lost.message).toContain(`sgd from step ${HOST_COPY_INTERVAL}, kfac-reduce from step ${HOST_COPY_INTERVAL}`);
    const reopened = await rec.next('backend', () => true, from);
    expect(reopened.report).toMatchObject({ webgpu: true, failureKind: null });
    expect(rec.events.indexOf(reopened)).toBeLessThan(rec.events.indexOf(lost));

    const done = await rec.next('done', () => true, from);
    await session.settled();
    expect(done.result.stopped).toBe(false);
    for (const run of done.result.runs) {
      expect(run.error, run.label).toBeUndefined();
      expect(run.stepsCompleted).toBe(steps);
      // The history continues through the loss: every step once, in order.
      expect(run.history.step).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
      expect(run.history.trainLoss.every(Number.isFinite)).toBe(true);
    }
    // The page saw every step once (the steps recomputed after the copy are not posted twice), then one run-end per run.
    expectEveryStep(rec.points(from), 2, steps);
    const ends = rec.of('run-end', from);
    expect(ends.map((e) => [e.run, e.result.error ?? null])).toEqual([
      [0, null],
      [1, null],
    ]);
    expect(rec.statuses(from).at(-1)).toBe('done');
    expect(rec.of('error')).toHaveLength(0);

    // The next start works on the new device.
    const again = rec.events.length;
    await session.handle({ type: 'start', config: spirals({ steps: 2, evalInterval: 2 }) });
    const last = await rec.next('done', () => true, again);
    expect(last.result.runs.map((r) => r.error ?? null)).toEqual([null, null]);
    expect(rec.of('error')).toHaveLength(0);

    // Choosing the CPU is reported as such.
    await session.handle({ type: 'open', prefer: 'cpu' });
    expect(rec.of('backend').at(-1)!.report).toMatchObject({ webgpu: false, failureKind: 'chosen-cpu' });
  });
});
