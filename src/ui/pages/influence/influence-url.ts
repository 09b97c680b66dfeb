// The Influence page's settings in the URL, after '#/influence?' (router.ts):
//
//   task=mlp-mnist&steps=300&seed=1&examples=1000&damping=0.1&query=0&subsets=20&seeds=2&ldsQueries=10
//
// - task: mlp-mnist or cnn-mnist; steps and seed: the model trained here (Adam, batch 64, lr 2e-3 on
//   the first `examples` training images; every LDS retraining uses the same recipe); damping: λ
//   relative to K-FAC's mean eigenvalue; query: the test image attributed; subsets, seeds,
//   ldsQueries: the LDS evaluation's half subsets, retrainings per subset and test queries.
// - Reading: missing fields take their defaults; anything unknown, repeated, malformed or out of range
//   gives one message naming the field, and then every field takes its default.
import { INFLUENCE_TASKS, type InfluenceTaskId } from '../../../engine/tools/influence/classifier.ts';
import { MAX_INFLUENCE_EXAMPLES, MAX_INFLUENCE_SUBSETS } from '../../../worker/jobs/influence-job.ts';

export interface InfluenceSettings {
  task: InfluenceTaskId;
  steps: number;
  seed: number;
  examples: number;
  damping: number;
  query: number;
  subsets: number;
  seeds: number;
  ldsQueries: number;
}

/** A model trained in seconds on 1,000 images; an LDS of 20 × 2 retrainings takes a minute or two on a CPU. */
export const DEFAULT_INFLUENCE_SETTINGS: Readonly<InfluenceSettings> = {
  task: 'mlp-mnist',
  steps: 300,
  seed: 1,
  examples: 1000,
  damping: 0.1,
  query: 0,
  subsets: 20,
  seeds: 2,
  ldsQueries: 10,
};

type Field = keyof InfluenceSettings;
const BOUNDS: Record<Exclude<Field, 'task' | 'damping'>, [number, number]> = {
  steps: [1, 20_000],
  seed: [0, 2 ** 31 - 1],
  examples: [8, MAX_INFLUENCE_EXAMPLES],
  query: [0, 511],
  subsets: [3, MAX_INFLUENCE_SUBSETS],
  seeds: [1, 10],
  ldsQueries: [1, 512],
};

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export function influenceSettingsFromQuery(query: string): { settings: InfluenceSettings; errors: string[] } {
  const settings: InfluenceSettings = { ...DEFAULT_INFLUENCE_SETTINGS };
  if (query === '') return { settings, errors: [] };
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const [key, value] of new URLSearchParams(query.slice(0, 2048))) {
    if (seen.has(key)) {
      errors.push(`${quote(key)} is given twice.`);
      continue;
    }
    seen.add(key);
    if (key === 'task') {
      if ((INFLUENCE_TASKS as readonly string[]).includes(value)) settings.task = value as InfluenceTaskId;
      else errors.push(`task must be one of ${INFLUENCE_TASKS.join(', ')}, not ${quote(value)}.`);
    } else if (key === 'damping') {
      const d = Number(value);
      if (value !== '' && d > 0 && d <= 1e6) settings.damping = d;
      else errors.push(`damping must be a number above 0 (relative to the mean K-FAC eigenvalue), not ${quote(value)}.`);
    } else if (Object.hasOwn(BOUNDS, key)) {
      const [min, max] = BOUNDS[key as keyof typeof BOUNDS];
      const n = Number(value);
      if (value !== '' && Number.isInteger(n) && n >= min && n <= max) settings[key as keyof typeof BOUNDS] = n;
      else errors.push(`${key} must be a whole number from ${min} to ${max}, not ${quote(value)}.`);
    } else errors.push(`${quote(key)} is not a setting of this page.`);
  }
  return errors.length > 0 ? { settings: { ...DEFAULT_INFLUENCE_SETTINGS }, errors: errors.slice(0, 8) } : { settings, errors };
}

export function influenceSettingsToQuery(s: InfluenceSettings): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(DEFAULT_INFLUENCE_SETTINGS) as Field[]) params.set(key, String(s[key]));
  return params.toString();
}
