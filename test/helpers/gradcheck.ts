// Central finite differences in float64 on the CPU backend, against autograd's gradients.
import { expect } from 'vitest';
import type { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import { noGrad, parameter, type Variable } from '../../src/engine/autograd/variable.ts';
import { scope, type Tensor } from '../../src/engine/tensor.ts';

export interface GradcheckOptions {
  h?: number;
  rtol?: number;
  atol?: number;
  label?: string;
}

/**
 * Check ∂f/∂inputs by central differences at float64 inputs. A non-scalar output is projected on
 * fixed irregular weights, so every output element counts.
 */
export function gradcheck(backend: CpuBackend, f: (xs: Variable[]) => Variable, inputs: Tensor[], options: GradcheckOptions = {}): void {
  compare(backend, inputs, options, (tensors, withGrad) => {
    const vars = tensors.map((x) => parameter(x));
    const out = withGrad ? f(vars) : noGrad(() => f(vars));
    return { out, wrt: vars };
  });
}

/** The same check for a module's own parameters (perturbed in place): f runs the forward pass. */
export function gradcheckParameters(backend: CpuBackend, params: Variable[], f: () => Variable, options: GradcheckOptions = {}): void {
  compare(
    backend,
    params.map((p) => p.value),
    options,
    (_tensors, withGrad) => ({ out: withGrad ? f() : noGrad(f), wrt: params }),
  );
}

function compare(
  backend: CpuBackend,
  inputs: Tensor[],
  { h = 1e-6, rtol = 1e-6, atol = 1e-8, label = 'gradcheck' }: GradcheckOptions,
  run: (inputs: Tensor[], withGrad: boolean) => { out: Variable; wrt: Variable[] },
): void {
  for (const x of inputs) expect(x.dtype, `${label}: gradcheck needs float64 inputs`).toBe('float64');
  const project = (out: Tensor): number => {
    const v = backend.readSync(out);
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * projection(i);
    return s;
  };
  const evalScalar = (): number => scope(() => project(run(inputs, false).out.value));
  const analytic = scope(() => {
    const { out, wrt } = run(inputs, true);
    const seed = backend.tensor(
      Array.from({ length: out.value.size }, (_, i) => projection(i)),
      out.shape,
      'float64',
    );
    return grad(out, wrt, seed).map((g) => backend.readSync(g));
  });
  inputs.forEach((x, k) => {
    const data = backend.dataOf(x) as Float64Array;
    for (let i = 0; i < data.length; i++) {
      const orig = data[i];
      data[i] = orig + h;
      const up = evalScalar();
      data[i] = orig - h;
      const down = evalScalar();
      data[i] = orig;
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(analytic[k][i] - numeric);
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        expect.fail(
          `${label}: input ${k}, element ${i}: autograd ${analytic[k][i]}, finite differences ${numeric} (|err| ${err.toExponential(2)})`,
        );
      }
    }
  });
}

/** Deterministic, irregular weights so no output's gradient can hide behind symmetry. */
function projection(i: number): number {
  return Math.sin(1.3 * i + 0.7) + 0.1;
}
