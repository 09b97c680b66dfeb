// createOptimizer: validated hyperparameters (schema.ts) in, an Optimizer out. Implementations
// register themselves by id, so K-FAC can be added later without touching this file's callers.
import type { Optimizer } from './optimizer.ts';
import { HyperparameterError, isGroupId, OPTIMIZER_IDS, SCHEMA, validateOrThrow, type HyperValues, type OptimizerId } from './schema.ts';
import { scheduleSettings, type ScheduleSettings } from './schedules.ts';
import { withGradClipping } from './clipping.ts';
import { SGD } from './sgd.ts';
import { Adam, AdamW } from './adam.ts';
import { KfacOptimizer } from '../curvature/kfac-optimizer.ts';

export interface CreateOptimizerOptions {
  /** Learning-rate schedule (the schema's 'schedule' group; missing keys take defaults). */
  schedule?: Partial<ScheduleSettings>;
  /** Global gradient-norm clipping (the schema's 'clip' group); maxNorm 0 = off. */
  clip?: { maxNorm?: number };
}

/** `clipMaxNorm` is the validated clip.maxNorm (0 = off), for optimizers that clip themselves. */
export type OptimizerFactory<G extends OptimizerId> = (hyper: HyperValues<G>, schedule: ScheduleSettings, clipMaxNorm: number) => Optimizer;

export interface RegisterOptions {
  /**
   * The optimizer applies clip.maxNorm itself (K-FAC: its step API is not the first-order one, so a
   * ClippedOptimizer wrapper would hide it). Default false: createOptimizer wraps it.
   */
  clipsGradients?: boolean;
}

const registry = new Map<OptimizerId, { factory: OptimizerFactory<never>; clipsGradients: boolean }>();

/** Make `id` constructible by createOptimizer (its hyperparameters must be in the schema). */
export function registerOptimizer<G extends OptimizerId>(id: G, factory: OptimizerFactory<G>, options: RegisterOptions = {}): void {
  registry.set(id, { factory: factory as OptimizerFactory<never>, clipsGradients: options.clipsGradients ?? false });
}

export function availableOptimizers(): OptimizerId[] {
  return OPTIMIZER_IDS.filter((id) => registry.has(id));
}

/**
 * Build optimizer `id` from (partial) hyperparameters: defaults fill the gaps, and any unknown,
 * ill-typed or out-of-range value throws a HyperparameterError listing every problem.
 */
export function createOptimizer<G extends OptimizerId>(id: G, hyper?: Partial<HyperValues<G>>, options?: CreateOptimizerOptions): Optimizer;
export function createOptimizer(id: string, hyper?: Record<string, unknown>, options?: CreateOptimizerOptions): Optimizer;
export function createOptimizer(id: string, hyper: Record<string, unknown> = {}, options: CreateOptimizerOptions = {}): Optimizer {
  if (!isGroupId(id) || SCHEMA[id].kind !== 'optimizer') {
    throw new HyperparameterError([`unknown optimizer "${id}" (known: ${OPTIMIZER_IDS.join(', ')})`]);
  }
  const entry = registry.get(id as OptimizerId);
  if (!entry) {
    throw new HyperparameterError([
      `optimizer "${id}" has hyperparameters in the schema but no implementation yet (available: ${availableOptimizers().join(', ')})`,
    ]);
  }
  const values = validateOrThrow(id, hyper);
  const schedule = scheduleSettings(options.schedule);
  const { maxNorm } = validateOrThrow('clip', options.clip ?? {});
  const optimizer = (entry.factory as OptimizerFactory<OptimizerId>)(values as never, schedule, maxNorm);
  return entry.clipsGradients ? optimizer : withGradClipping(optimizer, maxNorm);
}

registerOptimizer('sgd', (hyper, schedule) => new SGD(hyper, schedule));
registerOptimizer('adam', (hyper, schedule) => new Adam(hyper, schedule));
registerOptimizer('adamw', (hyper, schedule) => new AdamW(hyper, schedule));
// K-FAC (specs/KFAC.md §4): expand and reduce differ in one option. The parameters no K-FAC layer
// covers get the configured first-order optimizer, built here like any other.
for (const approx of ['expand', 'reduce'] as const) {
  registerOptimizer(
    `kfac-${approx}`,
    (hyper, schedule, clipMaxNorm) =>
      new KfacOptimizer(hyper, {
        approx,
        schedule,
        clipMaxNorm,
        fallback: createOptimizer(hyper.fallback, { lr: hyper.fallbackLr }, { schedule }),
      }),
    { clipsGradients: true },
  );
}
