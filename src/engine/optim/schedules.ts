// Learning-rate schedules: a host-side factor per step (no device work). Settings come from the
// 'schedule' group of the hyperparameter schema. Steps are 0-based.
//
//   warmup (any kind): factor = (step + 1) / warmupSteps for step < warmupSteps,
//   then, with s = step − warmupSteps (steps since the end of warmup):
//   constant: 1
//   cosine:   f + (1 − f) · ½ (1 + cos(π · min(1, s / (totalSteps − warmupSteps)))),  f = finalFraction
//   step:     decayFactor ^ floor(s / decayEvery)
import { defaults, validateOrThrow, type HyperValues } from './schema.ts';

export type ScheduleSettings = HyperValues<'schedule'>;
export type ScheduleKind = ScheduleSettings['kind'];

/** Complete schedule settings from partial ones (defaults filled in, ranges checked). */
export function scheduleSettings(partial: Partial<ScheduleSettings> = {}): ScheduleSettings {
  return validateOrThrow('schedule', partial);
}

export const CONSTANT_SCHEDULE: ScheduleSettings = defaults('schedule');

/** The multiplier of the base learning rate at 0-based `step`. */
export function learningRateFactor(schedule: ScheduleSettings, step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new Error(`learningRateFactor: step must be a non-negative integer, got ${step}`);
  const warmup = schedule.warmupSteps;
  if (step < warmup) return (step + 1) / warmup;
  const since = step - warmup;
  switch (schedule.kind) {
    case 'constant':
      return 1;
    case 'cosine': {
      const span = Math.max(1, schedule.totalSteps - warmup);
      const progress = Math.min(1, since / span);
      const f = schedule.finalFraction;
      return f + (1 - f) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
    case 'step':
      return Math.pow(schedule.decayFactor, Math.floor(since / schedule.decayEvery));
  }
}

export function learningRateAt(baseLr: number, schedule: ScheduleSettings, step: number): number {
  return baseLr * learningRateFactor(schedule, step);
}
