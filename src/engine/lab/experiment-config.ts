// The experiment's configuration (one task, several optimizer runs, a fair race): its types, limits
// and the validation that checks every field (each problem one message naming the field) and fills
// in the schema's defaults. The UI, the URL state, the CLI and the worker all validate through here.
import { OPTIMIZER_IDS, validate, type OptimizerId, type ParamValue } from '../optim/schema.ts';
import { isTaskId, TASK_IDS, type TaskId } from './tasks.ts';

export const TARGET_METRICS = ['valAccuracy'] as const;
export type TargetMetric = (typeof TARGET_METRICS)[number];

export interface OptimizerEntry {
  id: OptimizerId;
  /** Shown in legends; default: the id, numbered when it repeats. */
  label?: string;
  /** The optimizer's hyperparameters (schema.ts); missing keys take the schema defaults. */
  hyper?: Record<string, unknown>;
  /** Learning-rate schedule (the schema's 'schedule' group); totalSteps defaults to the experiment's steps. */
  schedule?: Record<string, unknown>;
  /** Gradient clipping (the schema's 'clip' group). */
  clip?: Record<string, unknown>;
}

export interface ExperimentConfig {
  task: TaskId;
  /** Examples per step (ignored by full-graph tasks). */
  batchSize: number;
  steps: number;
  /** Seeds the initial weights and the batch order; the same for every run. */
  seed: number;
  /** Evaluate every this many steps (and after the last step). */
  evalInterval: number;
  /** Steps and time to reach this validation metric are reported per run; null = none. */
  target?: { metric: TargetMetric; value: number } | null;
  optimizers: OptimizerEntry[];
}

export interface ResolvedOptimizer {
  id: OptimizerId;
  label: string;
  /** Every hyperparameter, defaults filled in. */
  hyper: Record<string, ParamValue>;
  schedule: Record<string, ParamValue>;
  clip: Record<string, ParamValue>;
}

export interface ResolvedConfig extends Omit<ExperimentConfig, 'optimizers' | 'target'> {
  target: { metric: TargetMetric; value: number } | null;
  optimizers: ResolvedOptimizer[];
}

export const MAX_RUNS = 8;
export const MAX_STEPS = 1_000_000;
export const MAX_BATCH_SIZE = 4096;

export type ConfigValidation = { ok: true; config: ResolvedConfig } | { ok: false; errors: string[] };

export class ExperimentConfigError extends Error {
  constructor(readonly messages: readonly string[]) {
    super(`invalid experiment config:\n${messages.join('\n')}`);
    this.name = 'ExperimentConfigError';
  }
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkInteger(errors: string[], where: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value))
    errors.push(`${where}: expected an integer, got ${typeof value} ${show(value)}`);
  else if (value < min || value > max) errors.push(`${where}: ${value} is out of range (allowed: ${min} to ${max})`);
}

/** Validate a schema group and rename its messages' "group.key" to the config path. */
function checkGroup(errors: string[], group: string, value: unknown, where: string): Record<string, ParamValue> {
  if (value !== undefined && !isPlainObject(value)) {
    errors.push(`${where}: expected an object of hyperparameters, got ${show(value)}`);
    return {};
  }
  const result = validate(group, value ?? {});
  if (result.ok) return result.values as Record<string, ParamValue>;
  for (const message of result.errors)
    errors.push(message.startsWith(`${group}.`) ? `${where}.${message.slice(group.length + 1)}` : message);
  return {};
}

const CONFIG_KEYS = ['task', 'batchSize', 'steps', 'seed', 'evalInterval', 'target', 'optimizers'];
const ENTRY_KEYS = ['id', 'label', 'hyper', 'schedule', 'clip'];

/** Check every field (each problem one message naming the field) and fill in defaults. */
export function validateConfig(input: unknown): ConfigValidation {
  if (!isPlainObject(input)) return { ok: false, errors: [`config: expected an object, got ${show(input)}`] };
  const errors: string[] = [];
  for (const key of Object.keys(input)) {
    if (!CONFIG_KEYS.includes(key)) errors.push(`${key}: unknown field (known: ${CONFIG_KEYS.join(', ')})`);
  }
  const { task, batchSize, steps, seed, evalInterval, target, optimizers } = input;
  if (!isTaskId(task)) errors.push(`task: unknown task ${show(task)} (known: ${TASK_IDS.join(', ')})`);
  checkInteger(errors, 'batchSize', batchSize, 1, MAX_BATCH_SIZE);
  checkInteger(errors, 'steps', steps, 1, MAX_STEPS);
  checkInteger(errors, 'seed', seed, 0, 0xffffffff);
  checkInteger(errors, 'evalInterval', evalInterval, 1, MAX_STEPS);

  let resolvedTarget: ResolvedConfig['target'] = null;
  if (target !== undefined && target !== null) {
    if (!isPlainObject(target)) errors.push(`target: expected { metric: 'valAccuracy', value } or null, got ${show(target)}`);
    else {
      if (!(TARGET_METRICS as readonly unknown[]).includes(target.metric)) {
        errors.push(`target.metric: unknown metric ${show(target.metric)} (known: ${TARGET_METRICS.join(', ')})`);
      }
      if (typeof target.value !== 'number' || !(target.value >= 0 && target.value <= 1)) {
        errors.push(`target.value: expected an accuracy between 0 and 1, got ${show(target.value)}`);
      }
      resolvedTarget = { metric: target.metric as TargetMetric, value: target.value as number };
    }
  }

  const resolved: ResolvedOptimizer[] = [];
  if (!Array.isArray(optimizers) || optimizers.length === 0) {
    errors.push(`optimizers: expected a non-empty array of { id, label?, hyper? }, got ${show(optimizers)}`);
  } else if (optimizers.length > MAX_RUNS) {
    errors.push(`optimizers: at most ${MAX_RUNS} runs per experiment, got ${optimizers.length}`);
  } else {
    optimizers.forEach((entry: unknown, i) => {
      const where = `optimizers[${i}]`;
      if (!isPlainObject(entry)) {
        errors.push(`${where}: expected { id, label?, hyper? }, got ${show(entry)}`);
        return;
      }
      for (const key of Object.keys(entry)) {
        if (!ENTRY_KEYS.includes(key)) errors.push(`${where}.${key}: unknown field (known: ${ENTRY_KEYS.join(', ')})`);
      }
      const id = entry.id;
      if (typeof id !== 'string' || !(OPTIMIZER_IDS as readonly string[]).includes(id)) {
        errors.push(`${where}.id: unknown optimizer ${show(id)} (known: ${OPTIMIZER_IDS.join(', ')})`);
        return;
      }
      if (entry.label !== undefined && (typeof entry.label !== 'string' || entry.label.trim() === '')) {
        errors.push(`${where}.label: expected a non-empty string, got ${show(entry.label)}`);
      }
      const hyper = checkGroup(errors, id, entry.hyper, `${where}.hyper`);
      // A cosine schedule should end with the experiment unless told otherwise.
      const stepsOk = typeof steps === 'number' && Number.isInteger(steps) && steps >= 1 && steps <= MAX_STEPS;
      const scheduleInput =
        stepsOk && (entry.schedule === undefined || isPlainObject(entry.schedule))
          ? { totalSteps: steps, ...entry.schedule }
          : entry.schedule;
      const schedule = checkGroup(errors, 'schedule', scheduleInput, `${where}.schedule`);
      const clip = checkGroup(errors, 'clip', entry.clip, `${where}.clip`);
      resolved.push({ id: id as OptimizerId, label: typeof entry.label === 'string' ? entry.label : '', hyper, schedule, clip });
    });
  }
  if (errors.length > 0) return { ok: false, errors };

  // Default labels: the id, numbered when several runs share it ("adam #2").
  const counts = new Map<string, number>();
  for (const r of resolved) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const r of resolved) {
    if (r.label) continue;
    const n = (seen.get(r.id) ?? 0) + 1;
    seen.set(r.id, n);
    r.label = (counts.get(r.id) ?? 0) > 1 ? `${r.id} #${n}` : r.id;
  }
  const cfg = input as unknown as ExperimentConfig;
  return {
    ok: true,
    config: {
      task: cfg.task,
      batchSize: cfg.batchSize,
      steps: cfg.steps,
      seed: cfg.seed,
      evalInterval: cfg.evalInterval,
      target: resolvedTarget,
      optimizers: resolved,
    },
  };
}

export function validateConfigOrThrow(input: unknown): ResolvedConfig {
  const result = validateConfig(input);
  if (!result.ok) throw new ExperimentConfigError(result.errors);
  return result.config;
}
