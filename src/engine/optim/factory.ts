// createOptimizer: validated hyperparameters (schema.ts) in, an Optimizer out. Implementations
// register themselves by id, so K-FAC can be added later without touching this file's callers.
import type { GradientOptimizer, Optimizer } from './optimizer.ts';
import { HyperparameterError, isGroupId, OPTIMIZER_IDS, SCHEMA, validateOrThrow, type HyperValues, type OptimizerId } from './schema.ts';
import { scheduleSettings, type ScheduleSettings } from './schedules.ts';
import { withGradClipping } from './clipping.ts';
import { SGD } from './sgd.ts';
import { Adam, AdamW } from './adam.ts';
import { KfacOptimizer } from './kfac/kfac-optimizer.ts';

/** The first-order optimizers: createOptimizer gives them as GradientOptimizer (they also update from finished gradients). */
export type FirstOrderId = Exclude<OptimizerId, 'kfac-expand' | 'kfac-reduce'>;

export interface CreateOptimizerOptions {
  /** Learning-rate schedule (the schema's 'schedule' group; missing keys take defaults). */
  schedule?: Partial<ScheduleSettings>;
  /** Global gradient-norm clipping (the schema's 'clip' group); maxNorm 0 = off. */
  clip?: { maxNorm?: number };
  /** The run's seed: K-FAC's Monte Carlo label draws follow it (the lab passes the experiment seed); default 0. */
  seed?: number;
}

/** Builds an optimizer that applies `clipMaxNorm` (the validated clip.maxNorm, 0 = off) itself. */
export type OptimizerFactory<G extends OptimizerId> = (
  hyper: HyperValues<G>,
  schedule: ScheduleSettings,
  clipMaxNorm: number,
  seed: number,
) => Optimizer;
/** Builds a first-order optimizer; createOptimizer adds the gradient clipping (a ClippedOptimizer). */
export type GradientOptimizerFactory<G extends OptimizerId> = (hyper: HyperValues<G>, schedule: ScheduleSettings) => GradientOptimizer;

const registry = new Map<OptimizerId, OptimizerFactory<never>>();

/** Make `id` constructible by createOptimizer (its hyperparameters must be in the schema); it clips its gradients itself. */
export function registerOptimizer<G extends OptimizerId>(id: G, factory: OptimizerFactory<G>): void {
  registry.set(id, factory as OptimizerFactory<never>);
}

/** Register a first-order optimizer: createOptimizer wraps it in the configured gradient clipping. */
export function registerGradientOptimizer<G extends OptimizerId>(id: G, factory: GradientOptimizerFactory<G>): void {
  registerOptimizer(id, (hyper, schedule, clipMaxNorm) => withGradClipping(factory(hyper, schedule), clipMaxNorm));
}

export function availableOptimizers(): OptimizerId[] {
  return OPTIMIZER_IDS.filter((id) => registry.has(id));
}

/**
 * Build optimizer `id` from (partial) hyperparameters: defaults fill the gaps, and any unknown,
 * ill-typed or out-of-range value throws a HyperparameterError listing every problem.
 */
export function createOptimizer<G extends FirstOrderId>(
  id: G,
  hyper?: Partial<HyperValues<G>>,
  options?: CreateOptimizerOptions,
): GradientOptimizer;
export function createOptimizer<G extends OptimizerId>(id: G, hyper?: Partial<HyperValues<G>>, options?: CreateOptimizerOptions): Optimizer;
export function createOptimizer(id: string, hyper?: Record<string, unknown>, options?: CreateOptimizerOptions): Optimizer;
export function createOptimizer(id: string, hyper: Record<string, unknown> = {}, options: CreateOptimizerOptions = {}): Optimizer {
  if (!isGroupId(id) || SCHEMA[id].kind !== 'optimizer') {
    throw new HyperparameterError([`unknown optimizer "${id}" (known: ${OPTIMIZER_IDS.join(', ')})`]);
  }
  const factory = registry.get(id as OptimizerId) as OptimizerFactory<OptimizerId> | undefined;
  if (!factory) {
    throw new HyperparameterError([
      `optimizer "${id}" has hyperparameters in the schema but no implementation yet (available: ${availableOptimizers().join(', ')})`,
    ]);
  }
  const values = validateOrThrow(id, hyper);
  const schedule = scheduleSettings(options.schedule);
  const { maxNorm } = validateOrThrow('clip', options.clip ?? {});
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new HyperparameterError([`seed must be an integer in [0, 4294967295], got ${seed}`]);
  }
  return factory(values as never, schedule, maxNorm, seed);
}

registerGradientOptimizer('sgd', (hyper, schedule) => new SGD(hyper, schedule));
registerGradientOptimizer('adam', (hyper, schedule) => new Adam(hyper, schedule));
registerGradientOptimizer('adamw', (hyper, schedule) => new AdamW(hyper, schedule));
// K-FAC (docs/kfac.md §4): expand and reduce differ in one option. The parameters no K-FAC layer
// covers get the configured first-order optimizer (kfac/fallback.ts).
for (const approx of ['expand', 'reduce'] as const) {
  registerOptimizer(
    `kfac-${approx}`,
    (hyper, schedule, clipMaxNorm, seed) => new KfacOptimizer(hyper, { approx, schedule, clipMaxNorm, seed }),
  );
}
