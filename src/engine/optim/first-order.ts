// Shared machinery of the first-order optimizers: argument checks, the learning-rate schedule, one
// scope per step for temporaries, and per-parameter state tensors that outlive the step (keep())
// until they are replaced or the optimizer is disposed.
import type { Variable } from '../autograd/variable.ts';
import { keep, scope, shapeToString, Tensor } from '../tensor.ts';
import { checkHostState, isHostTensor, readToHost, toDevice, type HostTensor, type OptimizerHostState } from './host-state.ts';
import type { GradientOptimizer, NamedParameter, TrainStepArgs, TrainStepResult } from './optimizer.ts';
import { firstOrderTrainStep } from './train-step.ts';
import { CONSTANT_SCHEDULE, learningRateAt, type ScheduleSettings } from './schedules.ts';

/** Per-parameter state: tensors (kept across steps) and plain numbers. */
export type ParamState = Record<string, Tensor | number>;

export interface UpdateResult<S extends ParamState> {
  param: Tensor;
  state: S;
}

/** Check that grads match params one to one, naming the first offender. */
export function checkStepArguments(optimizer: string, params: readonly NamedParameter[], grads: readonly Tensor[]): void {
  if (params.length !== grads.length) {
    throw new Error(`${optimizer}.step: got ${params.length} parameters but ${grads.length} gradients`);
  }
  params.forEach((p, i) => {
    const g = grads[i];
    const shape = p.variable.shape;
    if (!g || g.shape.length !== shape.length || g.shape.some((d, k) => d !== shape[k])) {
      throw new Error(
        `${optimizer}.step: gradient ${i} for "${p.name}" has shape ${g ? shapeToString(g.shape) : String(g)}, the parameter ${shapeToString(shape)}`,
      );
    }
    if (g.backend !== p.variable.backend) throw new Error(`${optimizer}.step: gradient for "${p.name}" is on another backend`);
  });
}

export abstract class FirstOrderOptimizer<S extends ParamState> implements GradientOptimizer {
  abstract readonly name: string;
  timing = false;
  private readonly states = new Map<Variable, S>();
  private lastLr = Number.NaN;

  constructor(
    protected readonly baseLr: number,
    protected readonly schedule: ScheduleSettings = CONSTANT_SCHEDULE,
  ) {}

  /** The learning rate used by the latest step (NaN before the first). */
  get learningRate(): number {
    return this.lastLr;
  }

  /** The state of one parameter (moments etc.), for inspection; undefined before its first update. */
  stateOf(variable: Variable): Readonly<S> | undefined {
    return this.states.get(variable);
  }

  /** Compute the parameter's new value and state. Runs inside a scope; `state` is undefined on its first update. */
  protected abstract update(param: Tensor, grad: Tensor, lr: number, state: S | undefined): UpdateResult<S>;

  trainStep(args: TrainStepArgs): Promise<TrainStepResult> {
    return firstOrderTrainStep(this, args);
  }

  step(params: readonly NamedParameter[], grads: readonly Tensor[], step: number): void {
    checkStepArguments(this.name, params, grads);
    const lr = learningRateAt(this.baseLr, this.schedule, step);
    this.lastLr = lr;
    scope(() => {
      params.forEach(({ variable }, i) => {
        const previous = this.states.get(variable);
        const { param, state } = this.update(variable.value, grads[i], lr, previous);
        for (const v of Object.values(state)) if (v instanceof Tensor) keep(v);
        if (previous) for (const [k, v] of Object.entries(previous)) if (v instanceof Tensor && state[k] !== v) v.dispose();
        this.states.set(variable, state);
        variable.assign(param);
      });
    });
  }

  async exportState(params: readonly NamedParameter[]): Promise<OptimizerHostState> {
    const entries: { name: string; key: string; tensor: Tensor }[] = [];
    const out: OptimizerHostState = { optimizer: this.name, params: {}, counters: {} };
    for (const { name, variable } of params) {
      const state = this.states.get(variable);
      if (!state) continue;
      const record: Record<string, HostTensor | number> = {};
      for (const [key, value] of Object.entries(state)) {
        if (value instanceof Tensor) entries.push({ name, key, tensor: value });
        else record[key] = value;
      }
      out.params[name] = record;
    }
    const host = await readToHost(entries.map((e) => e.tensor));
    entries.forEach((e, i) => (out.params[e.name][e.key] = host[i]));
    return out;
  }

  importState(params: readonly NamedParameter[], exported: OptimizerHostState): void {
    checkHostState(this.name, exported);
    this.dispose();
    for (const { name, variable } of params) {
      const record = exported.params[name];
      if (!record) continue;
      const state: ParamState = {};
      for (const [key, value] of Object.entries(record)) state[key] = isHostTensor(value) ? toDevice(variable.backend, value) : value;
      this.states.set(variable, state as S);
    }
  }

  dispose(): void {
    for (const state of this.states.values()) for (const v of Object.values(state)) if (v instanceof Tensor) v.dispose();
    this.states.clear();
  }
}
