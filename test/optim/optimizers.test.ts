import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import { constant, parameter } from '../../src/engine/autograd/variable.ts';
import * as ops from '../../src/engine/autograd/ops.ts';
import { mse } from '../../src/engine/nn/losses.ts';
import { SGD } from '../../src/engine/optim/sgd.ts';
import { Adam, AdamW } from '../../src/engine/optim/adam.ts';
import { ClippedOptimizer } from '../../src/engine/optim/clipping.ts';
import { availableOptimizers, createOptimizer, type FirstOrderId } from '../../src/engine/optim/factory.ts';
import type { GradientOptimizer, NamedParameter } from '../../src/engine/optim/optimizer.ts';
import { defaults, HyperparameterError } from '../../src/engine/optim/schema.ts';
import { learningRateAt, scheduleSettings, type ScheduleSettings } from '../../src/engine/optim/schedules.ts';
import { Rng } from '../../src/engine/random.ts';
import { scope, type DType } from '../../src/engine/tensor.ts';
import { useBackends } from '../helpers/backends.ts';
import { expectClose } from '../helpers/compare.ts';

const backends = useBackends();

// ---- hand-written references (float64, host) ------------------------------------------------------

interface RefSgd {
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

function referenceSgd(p: Float64Array, grads: Float64Array[], h: RefSgd, lrAt: (step: number) => number): Float64Array {
  const x = Float64Array.from(p);
  const buf = new Float64Array(p.length);
  grads.forEach((g, step) => {
    const lr = lrAt(step);
    for (let i = 0; i < x.length; i++) {
      let d = g[i] + h.weightDecay * x[i];
      if (h.momentum > 0) {
        buf[i] = step === 0 ? d : h.momentum * buf[i] + d;
        d = h.nesterov ? d + h.momentum * buf[i] : buf[i];
      }
      x[i] -= lr * d;
    }
  });
  return x;
}

interface RefAdam {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
}

/** Adam / AdamW exactly as written in the papers (PyTorch's torch.optim.Adam / AdamW). */
function referenceAdam(p: Float64Array, grads: Float64Array[], h: RefAdam, lrAt: (step: number) => number): Float64Array {
  const x = Float64Array.from(p);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((g, step) => {
    const t = step + 1;
    const lr = lrAt(step);
    for (let i = 0; i < x.length; i++) {
      let gi = g[i];
      if (h.decoupled) x[i] *= 1 - lr * h.weightDecay;
      else gi += h.weightDecay * x[i];
      m[i] = h.beta1 * m[i] + (1 - h.beta1) * gi;
      v[i] = h.beta2 * v[i] + (1 - h.beta2) * gi * gi;
      const mHat = m[i] / (1 - Math.pow(h.beta1, t));
      const vHat = v[i] / (1 - Math.pow(h.beta2, t));
      x[i] -= (lr * mHat) / (Math.sqrt(vHat) + h.eps);
    }
  });
  return x;
}

// ---- running an optimizer on fixed gradient sequences -------------------------------------------

const SHAPES = [[3, 4], [5], [1]];

function gradientSequence(seed: number, steps: number): Float64Array[][] {
  const rng = new Rng(seed);
  return Array.from({ length: steps }, () =>
    SHAPES.map((s) =>
      rng.uniformArray(
        s.reduce((a, b) => a * b, 1),
        -2,
        2,
      ),
    ),
  );
}

function initialValues(seed: number): Float64Array[] {
  const rng = new Rng(seed);
  return SHAPES.map((s) => rng.uniformArray(s.reduce((a, b) => a * b, 1)));
}

async function runOptimizer(
  backend: Backend,
  dtype: DType,
  optimizer: GradientOptimizer,
  init: Float64Array[],
  grads: Float64Array[][],
): Promise<Float64Array[]> {
  const params: NamedParameter[] = SHAPES.map((s, i) => ({ name: `p${i}`, variable: parameter(backend.tensor(init[i], s, dtype)) }));
  grads.forEach((gs, step) => {
    scope(() => {
      optimizer.step(
        params,
        gs.map((g, i) => backend.tensor(g, SHAPES[i], dtype)),
        step,
      );
    });
  });
  const out = await Promise.all(params.map(async (p) => Float64Array.from(await p.variable.value.read())));
  optimizer.dispose();
  for (const p of params) p.variable.value.dispose();
  return out;
}

const cosineWarmup = scheduleSettings({ kind: 'cosine', warmupSteps: 2, totalSteps: 6, finalFraction: 0.1 });

describe('optimizers against hand-written references (CPU, float64)', () => {
  const sgdCases: { label: string; h: RefSgd; schedule?: ScheduleSettings }[] = [
    { label: 'plain', h: { lr: 0.1, momentum: 0, nesterov: false, weightDecay: 0 } },
    { label: 'momentum', h: { lr: 0.05, momentum: 0.9, nesterov: false, weightDecay: 0 } },
    { label: 'momentum + Nesterov + weight decay', h: { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01 } },
    {
      label: 'momentum + weight decay, cosine schedule with warmup',
      h: { lr: 0.2, momentum: 0.9, nesterov: false, weightDecay: 0.1 },
      schedule: cosineWarmup,
    },
  ];
  for (const { label, h, schedule } of sgdCases) {
    it(`SGD: ${label}`, async () => {
      const init = initialValues(1);
      const grads = gradientSequence(2, 6);
      const got = await runOptimizer(backends.cpu, 'float64', new SGD(h, schedule), init, grads);
      const lrAt = (step: number) => (schedule ? learningRateAt(h.lr, schedule, step) : h.lr);
      got.forEach((values, i) => {
        const expected = referenceSgd(
          init[i],
          grads.map((g) => g[i]),
          h,
          lrAt,
        );
        expectClose(values, expected, { rtol: 1e-12, atol: 1e-14 }, `${label}, parameter ${i}`);
      });
    });
  }

  const adamCases: { label: string; h: RefAdam; schedule?: ScheduleSettings }[] = [
    { label: 'Adam', h: { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false } },
    {
      label: 'Adam with coupled L2 weight decay',
      h: { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.05, decoupled: false },
    },
    { label: 'AdamW', h: { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: true } },
    {
      label: 'AdamW with large ε and a schedule',
      h: { lr: 0.05, beta1: 0.5, beta2: 0.9, eps: 0.1, weightDecay: 0.2, decoupled: true },
      schedule: cosineWarmup,
    },
  ];
  for (const { label, h, schedule } of adamCases) {
    it(label, async () => {
      const init = initialValues(3);
      const grads = gradientSequence(4, 6);
      const settings = { lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, weightDecay: h.weightDecay };
      const optimizer = h.decoupled ? new AdamW(settings, schedule) : new Adam(settings, schedule);
      const got = await runOptimizer(backends.cpu, 'float64', optimizer, init, grads);
      const lrAt = (step: number) => (schedule ? learningRateAt(h.lr, schedule, step) : h.lr);
      got.forEach((values, i) => {
        const expected = referenceAdam(
          init[i],
          grads.map((g) => g[i]),
          h,
          lrAt,
        );
        expectClose(values, expected, { rtol: 1e-11, atol: 1e-13 }, `${label}, parameter ${i}`);
      });
    });
  }

  it('bias correction: Adam’s first step moves every entry by about lr, whatever the gradient scale', async () => {
    const init = [new Float64Array(12), new Float64Array(5), new Float64Array(1)];
    const grads = [SHAPES.map((s, i) => new Float64Array(s.reduce((a, b) => a * b, 1)).fill(10 ** (i * 3 - 3)))];
    const got = await runOptimizer(backends.cpu, 'float64', new Adam({ ...defaults('adam'), lr: 0.01 }), init, grads);
    for (const values of got) for (const x of values) expect(x).toBeCloseTo(-0.01, 6);
  });
});

describe('optimizers: WebGPU matches the CPU (float32)', () => {
  const make: Record<string, () => GradientOptimizer> = {
    'sgd (Nesterov, weight decay)': () => new SGD({ lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
    adam: () => new Adam({ ...defaults('adam'), lr: 0.01, weightDecay: 0.01 }),
    'adamw (cosine schedule)': () => new AdamW({ ...defaults('adamw'), lr: 0.01 }, cosineWarmup),
  };
  for (const [label, factory] of Object.entries(make)) {
    it(label, async () => {
      const init = initialValues(5);
      const grads = gradientSequence(6, 4);
      const onCpu = await runOptimizer(backends.cpu, 'float32', factory(), init, grads);
      const onGpu = await runOptimizer(backends.gpu, 'float32', factory(), init, grads);
      onGpu.forEach((values, i) => expectClose(values, onCpu[i], { rtol: 1e-5, atol: 1e-6 }, `${label}, parameter ${i}`));
    });
  }
});

// ---- minimising a linear regression ---------------------------------------------------------------

async function trainLinearRegression(
  backend: Backend,
  optimizer: GradientOptimizer,
  steps: number,
): Promise<{ first: number; last: number }> {
  const rng = new Rng(12);
  const [N, D, K] = [32, 5, 2];
  const xs = rng.uniformArray(N * D);
  const wTrue = rng.uniformArray(D * K, -2, 2);
  const ys = new Float64Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) ys[n * K + k] += xs[n * D + d] * wTrue[d * K + k];
  const x = constant(backend.tensor(xs, [N, D]));
  const y = backend.tensor(ys, [N, K]);
  const params: NamedParameter[] = [
    { name: 'weight', variable: parameter(backend.zeros([D, K])) },
    { name: 'bias', variable: parameter(backend.tensor([0.5, -0.5], [K])) },
  ];
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = scope(() => {
      const pred = ops.add(ops.matmul(x, params[0].variable), params[1].variable);
      const l = mse(pred, y, 'mean');
      const grads = grad(
        l,
        params.map((p) => p.variable),
      );
      optimizer.step(params, grads, step);
      return l.value;
    });
    if (step === 0 || step === steps - 1) losses.push((await loss.read())[0]);
    loss.dispose();
  }
  optimizer.dispose();
  for (const p of params) p.variable.value.dispose();
  x.value.dispose();
  y.dispose();
  return { first: losses[0], last: losses[1] };
}

describe('optimizers minimise a linear regression on both backends', () => {
  const settings: Record<string, () => GradientOptimizer> = {
    sgd: () => createOptimizer('sgd', { lr: 0.1, momentum: 0.9 }),
    'sgd + Nesterov': () => createOptimizer('sgd', { lr: 0.1, momentum: 0.9, nesterov: true }),
    adam: () => createOptimizer('adam', { lr: 0.05 }),
    adamw: () => createOptimizer('adamw', { lr: 0.05, weightDecay: 1e-4 }),
    'adam + cosine + clipping': () =>
      createOptimizer('adam', { lr: 0.1 }, { schedule: { kind: 'cosine', totalSteps: 120, warmupSteps: 5 }, clip: { maxNorm: 1 } }),
  };
  for (const [label, factory] of Object.entries(settings)) {
    it(label, async () => {
      for (const be of [backends.cpu, backends.gpu] as Backend[]) {
        const { first, last } = await trainLinearRegression(be, factory(), 120);
        expect(last, `${label} on ${be.name}: loss ${first} → ${last}`).toBeLessThan(first * 1e-3);
      }
    });
  }
});

// ---- state and memory -----------------------------------------------------------------------------

describe('optimizer state', () => {
  for (const be of ['cpu', 'gpu'] as const) {
    it(`keeps its state out of scopes and releases it in dispose() (${be})`, async () => {
      const backend: Backend = backends[be];
      const before = backend.memory().liveTensors;
      // K-FAC has no gradient-only step (it needs the forward pass); test/optim/kfac-optimizer.test.ts checks its state.
      for (const id of availableOptimizers().filter((o): o is FirstOrderId => !o.startsWith('kfac'))) {
        const optimizer = createOptimizer(id, { weightDecay: 0.01 }, { clip: { maxNorm: 1 } });
        const p: NamedParameter = { name: 'w', variable: parameter(backend.tensor([1, 2, 3], [3])) };
        for (let step = 0; step < 3; step++) {
          scope(() => optimizer.step([p], [backend.tensor([0.1, -0.2, 0.3], [3])], step));
        }
        // Parameter + optimizer state survive the step scopes; nothing else does.
        expect(backend.memory().liveTensors, id).toBeGreaterThan(before);
        await p.variable.value.read();
        optimizer.dispose();
        p.variable.value.dispose();
        expect(backend.memory().liveTensors, `${id} after dispose`).toBe(before);
      }
    });
  }

  it('exposes the moments and the scheduled learning rate', () => {
    const { cpu } = backends;
    const optimizer = new Adam({ ...defaults('adam'), lr: 0.1 }, scheduleSettings({ warmupSteps: 4 }));
    const p: NamedParameter = { name: 'w', variable: parameter(cpu.tensor([1, 2], [2], 'float64')) };
    scope(() => optimizer.step([p], [cpu.tensor([1, -1], [2], 'float64')], 0));
    expect(optimizer.learningRate).toBeCloseTo(0.025, 15);
    const state = optimizer.stateOf(p.variable)!;
    expect(state.t).toBe(1);
    expectClose(cpu.readSync(state.m), [0.1, -0.1], { rtol: 1e-12 });
    expectClose(cpu.readSync(state.v), [0.001, 0.001], { rtol: 1e-12 });
    optimizer.dispose();
  });

  it('rejects mismatched gradients with the parameter’s name', () => {
    const { cpu } = backends;
    const optimizer = new SGD(defaults('sgd'));
    const p: NamedParameter = { name: 'layer.weight', variable: parameter(cpu.tensor([1, 2], [2])) };
    expect(() => optimizer.step([p], [], 0)).toThrow(/1 parameters but 0 gradients/);
    expect(() => scope(() => optimizer.step([p], [cpu.tensor([1, 2, 3], [3])], 0))).toThrow(
      /"layer.weight" has shape \[3\], the parameter \[2\]/,
    );
  });
});

describe('createOptimizer', () => {
  it('builds the registered optimizers with validated settings', () => {
    expect(availableOptimizers()).toEqual(['sgd', 'adam', 'adamw', 'kfac-expand', 'kfac-reduce']);
    const sgd = createOptimizer('sgd', { nesterov: true });
    expect(sgd).toBeInstanceOf(SGD);
    expect((sgd as SGD).settings).toEqual({ ...defaults('sgd'), nesterov: true });
    expect(createOptimizer('adamw')).toBeInstanceOf(AdamW);
    expect(createOptimizer('adam', {}, { clip: { maxNorm: 2 } })).toBeInstanceOf(ClippedOptimizer);
  });

  it('offers the curvature capability exactly for the optimizers that keep Kronecker factors (K-FAC)', () => {
    for (const id of availableOptimizers()) {
      const optimizer = createOptimizer(id, {}, { clip: { maxNorm: 2 } });
      try {
        expect(optimizer.curvature !== undefined, id).toBe(id.startsWith('kfac-'));
        // Before its first step a K-FAC optimizer has met no layer yet.
        if (optimizer.curvature) expect(optimizer.curvature.layerNames, id).toEqual([]);
      } finally {
        optimizer.dispose();
      }
    }
  });

  it('gives clear errors for unknown ids and bad values', () => {
    expect(() => createOptimizer('rmsprop')).toThrow(/unknown optimizer "rmsprop" \(known: sgd, adam, adamw, kfac-expand, kfac-reduce\)/);
    expect(() => createOptimizer('schedule')).toThrow(/unknown optimizer "schedule"/);
    expect(() => createOptimizer('adam', { lr: -1, beta9: 1 })).toThrow(HyperparameterError);
    try {
      createOptimizer('adam', { lr: -1, beta9: 1 });
    } catch (e) {
      expect((e as HyperparameterError).messages).toHaveLength(2);
    }
    expect(() => createOptimizer('sgd', {}, { schedule: { kind: 'linear' as never } })).toThrow(
      /schedule.kind: expected one of constant \| cosine \| step/,
    );
  });
});

describe('dispatches per parameter on WebGPU (no read-backs, a fixed small count)', () => {
  const expected: { label: string; make: () => GradientOptimizer; perParam: number }[] = [
    { label: 'sgd', make: () => new SGD({ lr: 0.1, momentum: 0, nesterov: false, weightDecay: 0 }), perParam: 2 },
    {
      label: 'sgd + momentum + Nesterov + weight decay',
      make: () => new SGD({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.1 }),
      perParam: 8,
    },
    { label: 'adam', make: () => new Adam(defaults('adam')), perParam: 12 },
    { label: 'adamw', make: () => new AdamW(defaults('adamw')), perParam: 13 },
  ];
  for (const { label, make, perParam } of expected) {
    it(label, () => {
      const { gpu } = backends;
      const optimizer = make();
      const params: NamedParameter[] = [3, 17, 65].map((n, i) => ({ name: `p${i}`, variable: parameter(gpu.fill([n], 1)) }));
      const counters = gpu.runtime.counters;
      const stepOnce = (step: number) =>
        scope(() => {
          const grads = params.map((p) => gpu.fill(p.variable.shape, 0.5));
          const before = counters.dispatches;
          optimizer.step(params, grads, step);
          return counters.dispatches - before;
        });
      stepOnce(0); // the first step creates the state (fewer dispatches)
      expect(stepOnce(1)).toBe(perParam * params.length);
      optimizer.dispose();
      for (const p of params) p.variable.value.dispose();
    });
  }
});
