// createOptimizer: validated hyperparameters (schema.ts) in, an Optimizer out. Implementations
// register themselves by id, so K-FAC can be added later without touching this file's callers.
import type { Optimizer } from './optimizer.ts';
import { HyperparameterError, isGroupId, OPTIMIZER_IDS, SCHEMA, validateOrThrow, type HyperValues, type OptimizerId } from './schema.ts';
import { scheduleSettings, type ScheduleSettings } from './schedules.ts';
import { withGradClipping } from './clipping.ts';
import { SGD } from './sgd.ts';
import { Adam, AdamW } from './adam.ts';

export interface CreateOptimizerOptions {
  /** Learning-rate schedule (the schema's 'schedule' group; missing keys take defaults). */
  schedule?: Partial<ScheduleSettings>;
  /** Global gradient-norm clipping (the schema's 'clip' group); maxNorm 0 = off. */
  clip?: { maxNorm?: number };
}

export type OptimizerFactory<G extends OptimizerId> = (hyper: HyperValues<G>, schedule: ScheduleSettings) => Optimizer;

const registry = new Map<OptimizerId, OptimizerFactory<never>>();

/** Make `id` constructible by createOptimizer (its hyperparameters must be in the schema). */
export function registerOptimizer<G extends OptimizerId>(id: G, factory: OptimizerFactory<G>): void {
  registry.set(id, factory as OptimizerFactory<never>);
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
  const factory = registry.get(id as OptimizerId);
  if (!factory) {
    throw new HyperparameterError([
      `optimizer "${id}" has hyperparameters in the schema but no implementation yet (available: ${availableOptimizers().join(', ')})`,
    ]);
  }
  const values = validateOrThrow(id, hyper);
  const schedule = scheduleSettings(options.schedule);
  const { maxNorm } = validateOrThrow('clip', options.clip ?? {});
  return withGradClipping((factory as OptimizerFactory<OptimizerId>)(values as never, schedule), maxNorm);
}

registerOptimizer('sgd', (hyper, schedule) => new SGD(hyper, schedule));
registerOptimizer('adam', (hyper, schedule) => new Adam(hyper, schedule));
registerOptimizer('adamw', (hyper, schedule) => new AdamW(hyper, schedule));
