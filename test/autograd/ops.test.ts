import { describe, it, expect } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import * as ops from '../../src/engine/autograd/ops.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import { parameter, noGrad } from '../../src/engine/autograd/variable.ts';
import { Rng } from '../../src/engine/random.ts';
import { scope } from '../../src/engine/tensor.ts';
import { gradcheck } from '../helpers/gradcheck.ts';
import { uniformTensor } from '../helpers/random.ts';

const cpu = new CpuBackend();
const rng = new Rng(7);
const rand = (shape: number[], lo = -1, hi = 1) => uniformTensor(cpu, rng, shape, { lo, hi });

describe('autograd ops against finite differences (float64, CPU)', () => {
  it('broadcasting add, sub, mul, div', () => {
    gradcheck(cpu, ([a, b]) => ops.add(a, b), [rand([2, 3]), rand([3])], { label: 'add' });
    gradcheck(cpu, ([a, b]) => ops.sub(a, b), [rand([2, 1, 3]), rand([4, 1])], { label: 'sub' });
    gradcheck(cpu, ([a, b]) => ops.mul(a, b), [rand([3, 4]), rand([3, 1])], { label: 'mul' });
    gradcheck(cpu, ([a, b]) => ops.div(a, b), [rand([2, 3]), rand([2, 3], 0.5, 2)], { label: 'div' });
  });
  it('scalar forms and unary ops', () => {
    gradcheck(cpu, ([x]) => ops.mulScalar(x, -2.5), [rand([5])]);
    gradcheck(cpu, ([x]) => ops.addScalar(x, 3), [rand([5])]);
    gradcheck(cpu, ([x]) => ops.powScalar(x, 3), [rand([5])]);
    gradcheck(cpu, ([x]) => ops.neg(x), [rand([4])]);
    gradcheck(cpu, ([x]) => ops.exp(x), [rand([4])]);
    gradcheck(cpu, ([x]) => ops.log(x), [rand([4], 0.5, 2)]);
    gradcheck(cpu, ([x]) => ops.sqrt(x), [rand([4], 0.5, 2)]);
    gradcheck(cpu, ([x]) => ops.tanh(x), [rand([6], -3, 3)]);
    gradcheck(cpu, ([x]) => ops.sigmoid(x), [rand([6], -3, 3)]);
    gradcheck(cpu, ([x]) => ops.gelu(x), [rand([7], -3, 3)], { label: 'gelu' });
    // relu away from the kink
    gradcheck(cpu, ([x]) => ops.relu(x), [cpu.tensor([-1.5, -0.2, 0.3, 2], [4], 'float64')]);
  });
  it('matmul in every transpose combination, batched with broadcasting', () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = transA ? rand([2, 4, 3]) : rand([2, 3, 4]);
        const b = transB ? rand([5, 4]) : rand([4, 5]);
        gradcheck(cpu, ([x, y]) => ops.matmul(x, y, { transA, transB }), [a, b], { label: `matmul ${transA} ${transB}` });
      }
    }
  });
  it('shape ops', () => {
    gradcheck(cpu, ([x]) => ops.reshape(x, [6, 2]), [rand([3, 4])]);
    gradcheck(cpu, ([x]) => ops.permute(x, [2, 0, 1]), [rand([2, 3, 4])]);
    gradcheck(cpu, ([x]) => ops.slice(x, [1, 0, 2], [2, 3, 1]), [rand([3, 3, 4])]);
    gradcheck(cpu, ([a, b]) => ops.concat([a, b], 1), [rand([2, 3]), rand([2, 2])]);
  });
  it('reductions and softmax', () => {
    gradcheck(cpu, ([x]) => ops.sum(x), [rand([3, 4])]);
    gradcheck(cpu, ([x]) => ops.sum(x, 1, true), [rand([3, 4, 2])]);
    gradcheck(cpu, ([x]) => ops.mean(x, 0), [rand([3, 4])]);
    gradcheck(cpu, ([x]) => ops.mean(x), [rand([3, 4])]);
    gradcheck(cpu, ([x]) => ops.softmax(x), [rand([3, 5], -2, 2)]);
    gradcheck(cpu, ([x]) => ops.logSoftmax(x), [rand([3, 5], -2, 2)]);
  });
  it('gather, scatterAdd, im2col, where, mulConstant', () => {
    const idx = cpu.tensor([2, 0, 2, 1], [4], 'int32');
    gradcheck(cpu, ([x]) => ops.gather(x, idx), [rand([3, 2])]);
    gradcheck(cpu, ([x]) => ops.scatterAdd(x, idx, 5), [rand([4, 3])]);
    gradcheck(cpu, ([x]) => ops.im2col(x, { kernelH: 2, kernelW: 3, strideH: 2, padW: 1 }), [rand([2, 2, 5, 4])]);
    const cond = cpu.tensor([1, 0, 0, 1, 1, 0], [2, 3], 'float64');
    gradcheck(cpu, ([a, b]) => ops.where(cond, a, b), [rand([2, 3]), rand([3])]);
    gradcheck(cpu, ([x]) => ops.mulConstant(x, cond), [rand([2, 3])]);
  });
});

describe('the tape', () => {
  it('accumulates gradients of a reused variable', () => {
    const x = parameter(cpu.tensor([1, 2, 3], [3], 'float64'));
    const [g] = grad(ops.sum(ops.mul(x, x)), [x]);
    expect(Array.from(cpu.readSync(g))).toEqual([2, 4, 6]);
  });
  it('records nothing under noGrad and frees intermediates in a scope', () => {
    const x = parameter(cpu.tensor([1, 2], [2], 'float64'));
    const y = noGrad(() => ops.exp(x));
    expect(y.requiresGrad).toBe(false);
    const before = cpu.memory().liveTensors;
    for (let i = 0; i < 20; i++) {
      scope(() => {
        grad(ops.sum(ops.tanh(ops.mul(x, x))), [x]);
      });
    }
    expect(cpu.memory().liveTensors).toBe(before);
  });
  it('calls gradient hooks with the complete gradient', () => {
    const x = parameter(cpu.tensor([1, 2], [2], 'float64'));
    const h = ops.mulScalar(x, 3);
    let seen: number[] = [];
    h.onGrad((g) => (seen = Array.from(cpu.readSync(g))));
    grad(ops.sum(ops.add(h, h)), [x]);
    expect(seen).toEqual([2, 2]);
  });
  it('computes only the gradients that lead to a requested variable or a hook', () => {
    const x = parameter(cpu.tensor(rng.uniformArray(6), [2, 3], 'float64'));
    const w1 = parameter(cpu.tensor(rng.uniformArray(12), [3, 4], 'float64'));
    const w2 = parameter(cpu.tensor(rng.uniformArray(8), [4, 2], 'float64'));
    const input = noGrad(() => ops.mulScalar(x, 1)); // a constant input
    const h = ops.matmul(input, w1);
    const out = ops.sum(ops.matmul(h, w2));
    let calls = 0;
    const matmul = cpu.matmul.bind(cpu);
    cpu.matmul = (a, b, o) => (calls++, matmul(a, b, o));
    try {
      grad(out, [w1, w2]);
      expect(calls).toBe(3); // ∂h, ∂w2, ∂w1
      calls = 0;
      let hooked: number[] = [];
      h.onGrad((g) => (hooked = Array.from(cpu.readSync(g))));
      expect(grad(out, [])).toEqual([]);
      expect(calls).toBe(1); // only ∂h: no weight gradient, nothing below the hook
      expect(hooked.length).toBe(8);
    } finally {
      cpu.matmul = matmul;
    }
  });
});
