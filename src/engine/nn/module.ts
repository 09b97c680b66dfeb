// Module: a layer or model with named parameters and named child modules. Names are paths
// ("blocks.0.attn.q.weight") that optimizers, the curvature panel and saved results share.
import type { Backend } from '../backend/backend.ts';
import { parameter, type Variable } from '../autograd/variable.ts';
import { keep } from '../tensor.ts';

/** A named trainable leaf. Names are stable paths such as "blocks.0.attn.qkv.weight". */
export interface NamedParameter {
  name: string;
  variable: Variable;
}

export abstract class Module {
  protected training = true;
  private ownParams = new Map<string, Variable>();
  private children = new Map<string, Module>();

  readonly backend: Backend;
  readonly precision: 'float32' | 'float64';

  constructor(ctx: { backend: Backend; precision?: 'float32' | 'float64' }) {
    this.backend = ctx.backend;
    this.precision = ctx.precision ?? 'float32';
  }

  /** Register a trainable parameter from host values (kept out of any scope). */
  protected addParameter(name: string, values: ArrayLike<number>, shape: readonly number[]): Variable {
    const v = parameter(keep(this.backend.tensor(values, shape, this.precision)), name);
    this.ownParams.set(name, v);
    return v;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Parameters with full dotted names, in registration order (deterministic). */
  parameters(prefix = ''): NamedParameter[] {
    const out: NamedParameter[] = [];
    for (const [n, v] of this.ownParams) out.push({ name: prefix + n, variable: v });
    for (const [n, m] of this.children) out.push(...m.parameters(`${prefix}${n}.`));
    return out;
  }

  parameterCount(): number {
    return this.parameters().reduce((s, p) => s + p.variable.value.size, 0);
  }

  /** Training mode (dropout active) or evaluation mode. */
  train(on = true): this {
    this.training = on;
    for (const m of this.children.values()) m.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  get isTraining(): boolean {
    return this.training;
  }

  /** Copy weights from host arrays keyed by parameter name (all must be given). */
  loadWeights(weights: Readonly<Record<string, ArrayLike<number>>>): void {
    for (const p of this.parameters()) {
      const w = weights[p.name];
      if (!w) throw new Error(`loadWeights: missing "${p.name}"`);
      if (w.length !== p.variable.value.size)
        throw new Error(`loadWeights: "${p.name}" has ${w.length} values, expected ${p.variable.value.size}`);
      p.variable.assign(this.backend.tensor(w, p.variable.shape, p.variable.value.dtype));
    }
  }

  /** Read every parameter to the host, keyed by name. */
  async saveWeights(): Promise<Record<string, Float32Array | Float64Array>> {
    const out: Record<string, Float32Array | Float64Array> = {};
    for (const p of this.parameters()) out[p.name] = (await p.variable.value.read()) as Float32Array | Float64Array;
    return out;
  }

  /** Frees the parameters and, through each child's own dispose, what children cache (attention masks). */
  dispose(): void {
    for (const v of this.ownParams.values()) v.value.dispose();
    for (const m of this.children.values()) m.dispose();
  }
}

/** Options every layer constructor takes. */
export interface LayerContext {
  backend: Backend;
  /** Seeds the initialiser; each layer draws from its own stream so models are reproducible. */
  seed: number;
  /** float64 (CPU only) for gradient and curvature checks. */
  precision?: 'float32' | 'float64';
}
