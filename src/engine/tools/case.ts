// The case of the curvature commands (`npm run factors`, `npm run curvature -- <tool>`,
// docs/curvature-tools.md §0): a small model given layer by layer, a batch, a loss and the K-FAC
// options, plus each tool's own fields. Parsing and validation live here, in the engine, so that
// every tool is an engine function of a parsed case; the commands in src/cli/ only read files and
// print. Validation is hand-written: the checks are mostly cross-field (matrix sizes chain through
// the layers, the targets' shape depends on the loss and the setting), and the messages name the
// field and the expected shape in the problem's own terms.
import type { Backend } from '../backend/backend.ts';
import { CpuBackend } from '../backend/cpu/cpu-backend.ts';
import { requestWebGPU } from '../backend/create-backend.ts';
import { WasmBackend } from '../backend/wasm/wasm-backend.ts';
import { wasmUnavailableReason } from '../backend/wasm/wasm-module.ts';
import { constant, type Variable } from '../autograd/variable.ts';
import { computeKfacFactors, type BiasMode, type FisherType, type KfacApprox, type LossSetting } from '../curvature/factors.ts';
import { LayerStack, type StackLayerSpec } from '../nn/models/layer-stack.ts';
import { lossSpec, type LossKind, type LossTargets, type Reduction } from '../nn/losses.ts';
import type { Tensor } from '../tensor.ts';

export interface FactorsCase {
  layers: StackLayerSpec[];
  setting: LossSetting;
  /** Inputs [N, R, dIn], flattened row-major. */
  inputs: { values: number[]; shape: [number, number, number] };
  /** MSE: [N, R, C] (expand) or [N, C] (reduce); CE: class indices [N, R] or [N]. Flattened. */
  targets: { values: number[]; shape: number[] };
  loss: LossKind;
  reduction: Reduction;
  fisher: FisherType;
  mcSamples: number;
  seed: number;
  approx: KfacApprox;
  bias: BiasMode;
  backend: 'cpu' | 'wasm' | 'webgpu';
  precision: 'float32' | 'float64';
}

/** An invalid case; the message starts with the offending field's path. */
export class CaseError extends Error {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'CaseError';
  }
}

/** What a case field holds and its default (none: required); the usage texts print these. */
export interface FieldDoc {
  about: string;
  default?: string;
}

/** The fields of a case: what each holds and its default (none: required). Read by the usage text. */
export const CASE_FIELDS: Readonly<Record<string, FieldDoc>> = {
  layers: { about: '[{"type": "linear", "weight": [dOut][dIn], "bias"?: [dOut]} | {"type": "tanh" | "relu"}, ...]' },
  setting: { about: '"expand" (a loss term per shared position) or "reduce" (the model output is the mean over R)' },
  inputs: { about: '[N][R][dIn] numbers' },
  targets: { about: 'MSE: [N][R][C] (expand) or [N][C] (reduce); CE: class indices [N][R] or [N]' },
  loss: { about: '"mse" or "ce"' },
  reduction: { about: '"sum" or "mean"', default: 'mean' },
  fisher: { about: '"type-2", "mc" or "empirical"', default: 'type-2' },
  mcSamples: { about: 'MC samples per loss term', default: '1' },
  seed: { about: 'seeds the MC labels', default: '0' },
  approx: { about: '"expand" or "reduce"', default: 'the setting' },
  bias: { about: '"folded" (A gets a constant-1 row and column, last) or "separate"', default: 'folded' },
  backend: { about: '"cpu" (float64 reference), "wasm" (WebAssembly SIMD, float32) or "webgpu"', default: 'cpu' },
  precision: { about: '"float64" (cpu only) or "float32"', default: 'float64 on cpu, float32 on webgpu' },
};

const LAYER_TYPES = ['linear', 'tanh', 'relu'] as const;

/**
 * Check a parsed JSON value against the case format; throws CaseError naming the first bad field.
 * `toolFields` are the extra fields a tool accepts (the tool parses their values itself); any other
 * field is an error.
 */
export function parseFactorsCase(json: unknown, toolFields: Readonly<Record<string, FieldDoc>> = {}): FactorsCase {
  if (!isRecord(json)) throw new CaseError('case', `expected a JSON object, got ${describe(json)}`);
  const known = [...Object.keys(CASE_FIELDS), ...Object.keys(toolFields)];
  const unknown = Object.keys(json).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new CaseError(unknown[0], `unknown field (known fields: ${known.join(', ')})`);

  const { layers, dIn, C } = parseLayers(required(json, 'layers'));
  const setting = oneOf(required(json, 'setting'), 'setting', ['expand', 'reduce'] as const);
  const inputs = parseInputs(required(json, 'inputs'), dIn);
  const loss = oneOf(required(json, 'loss'), 'loss', ['mse', 'ce'] as const);
  const [N, R] = inputs.shape;
  const targets = parseTargets(required(json, 'targets'), loss, setting, N, R, C);
  const reduction = oneOf(json.reduction ?? 'mean', 'reduction', ['sum', 'mean'] as const);
  const fisher = oneOf(json.fisher ?? 'type-2', 'fisher', ['type-2', 'mc', 'empirical'] as const);
  const mcSamples = integer(json.mcSamples ?? 1, 'mcSamples', 1, 1_000_000);
  const seed = integer(json.seed ?? 0, 'seed', 0, 2 ** 32 - 1);
  const approx = oneOf(json.approx ?? setting, 'approx', ['expand', 'reduce'] as const);
  const bias = oneOf(json.bias ?? 'folded', 'bias', ['folded', 'separate'] as const);
  const backend = oneOf(json.backend ?? 'cpu', 'backend', ['cpu', 'wasm', 'webgpu'] as const);
  const precision = oneOf(json.precision ?? (backend === 'cpu' ? 'float64' : 'float32'), 'precision', ['float64', 'float32'] as const);
  if (precision === 'float64' && backend !== 'cpu') {
    throw new CaseError('precision', `"float64" requires backend "cpu" (WASM and WebGPU compute in float32)`);
  }
  return { layers, setting, inputs, targets, loss, reduction, fisher, mcSamples, seed, approx, bias, backend, precision };
}

function parseLayers(value: unknown): { layers: StackLayerSpec[]; dIn: number; C: number } {
  if (!Array.isArray(value) || value.length === 0)
    throw new CaseError('layers', `expected a non-empty array of layers, got ${describe(value)}`);
  const layers: StackLayerSpec[] = [];
  let width: number | null = null; // the current feature width, once a linear layer has fixed it
  let dIn: number | null = null;
  value.forEach((layer, index) => {
    const at = `layers[${index}]`;
    if (!isRecord(layer)) throw new CaseError(at, `expected an object like {"type": "linear", "weight": [[...]]}, got ${describe(layer)}`);
    const type = oneOf(layer.type, `${at}.type`, LAYER_TYPES);
    const allowed = type === 'linear' ? ['type', 'weight', 'bias'] : ['type'];
    const extra = Object.keys(layer).find((k) => !allowed.includes(k));
    if (extra !== undefined) throw new CaseError(`${at}.${extra}`, `unknown field for a ${type} layer (allowed: ${allowed.join(', ')})`);
    if (type !== 'linear') {
      layers.push({ type });
      return;
    }
    const weight = parseMatrix(layer.weight, `${at}.weight`, width);
    const dOut = weight.length;
    const bias = layer.bias === undefined ? undefined : numberList(layer.bias, `${at}.bias`, dOut, `${dOut} numbers (one per output)`);
    layers.push(bias ? { type, weight, bias } : { type, weight });
    dIn ??= weight[0].length;
    width = dOut;
  });
  if (width === null || dIn === null) throw new CaseError('layers', 'expected at least one layer of type "linear"');
  return { layers, dIn, C: width };
}

/** A [rows][cols] matrix; cols is fixed by the layer before (null for the first linear layer). */
function parseMatrix(value: unknown, at: string, cols: number | null): number[][] {
  const rows = Array.isArray(value) ? value.length : 0;
  const expected = cols === null ? 'a matrix [dOut][dIn]' : rows > 0 ? `a ${rows}×${cols} matrix` : `a matrix with ${cols} columns`;
  const fail = () => new CaseError(at, `expected ${expected} (rows of equal length), got ${describe(value)}`);
  if (!Array.isArray(value) || value.length === 0 || !value.every(Array.isArray)) throw fail();
  const width = cols ?? (value[0] as unknown[]).length;
  if (width === 0 || value.some((row: unknown[]) => row.length !== width)) throw fail();
  return value.map((row: unknown[], i) => row.map((x, j) => finite(x, `${at}[${i}][${j}]`)));
}

function parseInputs(value: unknown, dIn: number): FactorsCase['inputs'] {
  const shape = nestedShape(value, 3);
  if (!shape || shape[0] === 0 || shape[1] === 0 || shape[2] !== dIn) {
    throw new CaseError(
      'inputs',
      `expected an N×R×${dIn} array [N][R][dIn] (dIn = ${dIn}, the columns of the first linear layer's weight; equal lengths), got ${describe(value)}`,
    );
  }
  return { values: flatNumbers(value, 'inputs', false), shape: shape as [number, number, number] };
}

function parseTargets(value: unknown, loss: LossKind, setting: LossSetting, N: number, R: number, C: number): FactorsCase['targets'] {
  const expectedShape = loss === 'mse' ? (setting === 'expand' ? [N, R, C] : [N, C]) : setting === 'expand' ? [N, R] : [N];
  const shape = nestedShape(value, expectedShape.length);
  if (!shape || shape.some((d, i) => d !== expectedShape[i])) {
    const what = loss === 'mse' ? 'an array of numbers' : `an array of class indices in [0, ${C})`;
    throw new CaseError(
      'targets',
      `expected ${expectedShape.join('×')} ${what} (loss "${loss}", setting "${setting}"; N = ${N}, R = ${R}, C = ${C}), got ${describe(value)}`,
    );
  }
  const values = flatNumbers(value, 'targets', loss === 'ce');
  if (loss === 'ce') {
    const bad = values.findIndex((y) => y < 0 || y >= C);
    if (bad >= 0)
      throw new CaseError('targets', `class index ${values[bad]} is outside [0, ${C}) (C = ${C} outputs of the last linear layer)`);
  }
  return { values, shape };
}

// ---- small validators (tools use them for their own fields) ------------------------------------------

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function required(json: Record<string, unknown>, field: string): unknown {
  if (json[field] === undefined) throw new CaseError(field, 'required field is missing');
  return json[field];
}

export function oneOf<T extends string>(value: unknown, at: string, options: readonly T[]): T {
  if (typeof value === 'string' && (options as readonly string[]).includes(value)) return value as T;
  const list = options.map((o) => `"${o}"`);
  const expected = list.length === 2 ? `${list[0]} or ${list[1]}` : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
  throw new CaseError(at, `expected ${expected}, got ${describe(value)}`);
}

export function integer(value: unknown, at: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CaseError(at, `expected an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

export function finite(value: unknown, at: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new CaseError(at, `expected a finite number, got ${describe(value)}`);
  return value;
}

function numberList(value: unknown, at: string, length: number, expected: string): number[] {
  if (!Array.isArray(value) || value.length !== length) throw new CaseError(at, `expected ${expected}, got ${describe(value)}`);
  return value.map((x, i) => finite(x, `${at}[${i}]`));
}

/** The shape of a rectangular nested array of the given depth, or null when ragged or too shallow. */
function nestedShape(value: unknown, depth: number): number[] | null {
  if (depth === 0) return Array.isArray(value) ? null : [];
  if (!Array.isArray(value)) return null;
  if (value.length === 0) return depth === 1 ? [0] : null;
  const inner = nestedShape(value[0], depth - 1);
  if (!inner) return null;
  for (const v of value) {
    const s = nestedShape(v, depth - 1);
    if (!s || s.some((d, i) => d !== inner[i])) return null;
  }
  return [value.length, ...inner];
}

/** The leaves of a rectangular nested array, checked to be finite numbers (or integers). */
function flatNumbers(value: unknown, at: string, integers: boolean): number[] {
  const out: number[] = [];
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else {
      const x = finite(v, path);
      if (integers && !Number.isInteger(x)) throw new CaseError(path, `expected an integer class index, got ${x}`);
      out.push(x);
    }
  };
  walk(value, at);
  return out;
}

/** A short description of a JSON value for error messages: its shape for arrays, else the value. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) {
    if (value.length === 0) return 'an empty array';
    if (value.every(Array.isArray)) {
      const lengths = value.map((r: unknown[]) => r.length);
      const shape = nestedShape(value, depthOf(value));
      if (shape) return `a ${shape.join('×')} array`;
      return `rows of lengths [${lengths.slice(0, 8).join(', ')}${lengths.length > 8 ? ', …' : ''}]`;
    }
    return `an array of ${value.length}`;
  }
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function depthOf(value: unknown): number {
  let depth = 0;
  while (Array.isArray(value) && value.length > 0) {
    depth++;
    value = value[0];
  }
  return depth;
}

// ---- running a case -----------------------------------------------------------------------------

export interface CaseLayerFactors {
  /** Position of the linear layer in the case's `layers` array. */
  index: number;
  /** [dIn(+1)]²; with the bias folded the constant-1 row and column are last. */
  A: number[][];
  /** [dOut]². */
  G: number[][];
}

export interface CaseFactors {
  layers: CaseLayerFactors[];
}

/** The backend a case asks for (WebGPU and WASM fail loudly rather than falling back). */
export async function openCaseBackend(c: FactorsCase): Promise<Backend> {
  switch (c.backend) {
    case 'cpu':
      return new CpuBackend();
    case 'wasm': {
      const missing = wasmUnavailableReason();
      if (missing !== null) throw new Error(`backend "wasm": ${missing}`);
      return new WasmBackend();
    }
    case 'webgpu':
      return await requestWebGPU();
  }
}

/** A case's model and batch on a backend. */
export interface CaseModel {
  model: LayerStack;
  /** The model outputs on the case's inputs ([N, R, C] expand, [N, C] reduce). */
  forward: () => Variable;
  loss: LossTargets;
  /** Frees the model and the uploaded inputs and targets. */
  dispose(): void;
}

/** Build the case's model (its weights as given) and upload its batch. */
export function buildCaseModel(c: FactorsCase, backend: Backend): CaseModel {
  if (c.precision === 'float64' && !backend.supportsFloat64) throw new Error(`buildCaseModel: ${backend.name} has no float64`);
  const model = new LayerStack({ backend, seed: c.seed, precision: c.precision }, { layers: c.layers, setting: c.setting });
  const x: Tensor = backend.tensor(c.inputs.values, c.inputs.shape, c.precision);
  const targets = backend.tensor(c.targets.values, c.targets.shape, c.loss === 'ce' ? 'int32' : c.precision);
  return {
    model,
    forward: () => model.forward(constant(x)),
    loss: { spec: lossSpec(c.loss, c.reduction), targets },
    dispose() {
      x.dispose();
      targets.dispose();
      model.dispose();
    },
  };
}

/** The case's K-FAC options, every one given, so kfacForward and fitCurvature read them alike. */
export function caseKfacOptions(c: FactorsCase) {
  return { approx: c.approx, fisher: c.fisher, bias: c.bias, mcSamples: c.mcSamples, seed: c.seed, setting: c.setting };
}

/** Build the case's model on `backend` and compute its K-FAC factors. */
export async function computeCaseFactors(c: FactorsCase, backend: Backend): Promise<CaseFactors> {
  const { model, forward, loss, dispose } = buildCaseModel(c, backend);
  try {
    const factors = computeKfacFactors(forward, loss, caseKfacOptions(c));
    const layers: CaseLayerFactors[] = [];
    try {
      for (const { index, layer } of model.linears) {
        const f = factors.find((g) => g.layer === layer.kfacInfo);
        if (!f) throw new Error(`computeCaseFactors: no factors for layers[${index}]`);
        layers.push({ index, A: toRows(await f.A.read(), f.A.shape[0]), G: toRows(await f.G.read(), f.G.shape[0]) });
      }
    } finally {
      for (const f of factors) {
        f.A.dispose();
        f.G.dispose();
      }
    }
    return { layers };
  } finally {
    dispose();
  }
}

/** An n×n row-major matrix as nested rows (the JSON form of every matrix a tool prints). */
export function toRows(values: ArrayLike<number>, n: number, cols = n): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: cols }, (_, j) => values[i * cols + j]));
}
