// The optimizer of the parameters no K-FAC layer covers (embeddings, LayerNorm gains, ...): the
// K-FAC settings' `fallback` (SGD or Adam with their schema defaults) at `fallbackLr`, on the same
// learning-rate schedule. Built here only, whoever constructs the K-FAC optimizer.
import { Adam } from '../adam.ts';
import type { GradientOptimizer } from '../optimizer.ts';
import { defaults } from '../schema.ts';
import type { ScheduleSettings } from '../schedules.ts';
import { SGD } from '../sgd.ts';
import type { KfacSettings } from './types.ts';

export function createFallbackOptimizer(
  settings: Pick<KfacSettings, 'fallback' | 'fallbackLr'>,
  schedule: ScheduleSettings,
): GradientOptimizer {
  if (settings.fallback === 'sgd') return new SGD({ ...defaults('sgd'), lr: settings.fallbackLr }, schedule);
  return new Adam({ ...defaults('adam'), lr: settings.fallbackLr }, schedule);
}
