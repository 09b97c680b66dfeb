// The Curvature page's settings in the URL, after '#/curvature?' (router.ts):
//
//   task=vit-mnist&model=train&steps=50&seed=1&examples=256&fisher=type-2&exact=1500&layer=0
//
// - task: a lab task; model: 'fresh' (the seed's initial weights), 'train' (trained on this page for
//   `steps` steps) or 'checkpoint' (one handed over by the race, kept in this browser or uploaded:
//   those bytes are not in the URL, so a reload asks for the model again); seed: the model's seed;
//   examples: training examples the curvature is computed over; fisher: type-2 (the exact GGN), mc
//   or empirical; exact: layers with at most this many weights get the exact GGN block (0: none; the
//   dense block and its eigendecomposition grow as its square and cube); layer: the K-FAC layer
//   shown (its index in forward order).
// - Reading: missing fields take their defaults; anything unknown, repeated, malformed or out of
//   range gives one plain-text message naming the field, and then every field takes its default.
import { MAX_CURVATURE_EXAMPLES, MAX_EXACT_PARAMS, MAX_TRAIN_STEPS } from '../../../worker/jobs/limits.ts';
import { isTaskId, TASK_IDS, type TaskId } from '../../../engine/lab/tasks.ts';

export const MODEL_SOURCES = ['fresh', 'train', 'checkpoint'] as const;
export type ModelSource = (typeof MODEL_SOURCES)[number];
export const FISHER_CHOICES = ['type-2', 'mc', 'empirical'] as const;
export type FisherChoice = (typeof FISHER_CHOICES)[number];

export interface CurvatureSettings {
  task: TaskId;
  model: ModelSource;
  /** Training steps when model is 'train'. */
  steps: number;
  seed: number;
  examples: number;
  fisher: FisherChoice;
  /** Layers with at most this many weights get the exact GGN block (0: none). */
  exact: number;
  layer: number;
}

/** Short defaults: a model trained for a few dozen steps, looked at on a few hundred examples. */
export const DEFAULT_CURVATURE_SETTINGS: Readonly<CurvatureSettings> = {
  task: 'vit-mnist',
  model: 'train',
  steps: 50,
  seed: 1,
  examples: 256,
  fisher: 'type-2',
  exact: 1500,
  layer: 0,
};

const MAX_QUERY_LENGTH = 2048;
const MAX_MESSAGES = 8;
const MAX_QUOTED = 40;
const FIELDS = ['task', 'model', 'steps', 'seed', 'examples', 'fisher', 'exact', 'layer'] as const;
type Field = (typeof FIELDS)[number];
const MAX_LAYER = 999;

export interface CurvatureFromUrl {
  settings: CurvatureSettings;
  /** Plain text, one problem per message; empty when the URL was used (or empty). */
  errors: string[];
}

function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text);
}

const INTEGER_TEXT = /^\d{1,10}$/;

function readInteger(text: string, field: Field, min: number, max: number, problems: string[]): number | undefined {
  const value = INTEGER_TEXT.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    problems.push(`${field}: expected a whole number from ${min} to ${max}, got ${quote(text)}`);
    return undefined;
  }
  return value;
}

function readChoice<T extends string>(text: string, field: Field, choices: readonly T[], problems: string[]): T | undefined {
  if ((choices as readonly string[]).includes(text)) return text as T;
  problems.push(`${field}: expected one of ${choices.join(', ')}, got ${quote(text)}`);
  return undefined;
}

/** The settings in the query (the part after '?'), checked; never throws. */
export function curvatureSettingsFromQuery(query: string): CurvatureFromUrl {
  const defaults = { ...DEFAULT_CURVATURE_SETTINGS };
  if (typeof query !== 'string' || query.trim() === '') return { settings: defaults, errors: [] };
  if (query.length > MAX_QUERY_LENGTH)
    return fallback([`link: the settings are ${query.length} characters long, more than the ${MAX_QUERY_LENGTH} allowed`]);
  const problems: string[] = [];
  const seen = new Set<Field>();
  const settings = { ...defaults };
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let name: string;
    let text: string;
    try {
      name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      text = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    } catch {
      problems.push(`link: broken percent-encoding in ${quote(part)}`);
      continue;
    }
    if (!(FIELDS as readonly string[]).includes(name)) {
      problems.push(`${quote(name)}: unknown field (known: ${FIELDS.join(', ')})`);
      continue;
    }
    const field = name as Field;
    if (seen.has(field)) {
      problems.push(`${field}: given more than once`);
      continue;
    }
    seen.add(field);
    if (eq < 0) {
      problems.push(`${field}: has no value (expected ${field}=…)`);
      continue;
    }
    switch (field) {
      case 'task': {
        const task = readChoice(text, 'task', TASK_IDS, problems);
        if (task && isTaskId(task)) settings.task = task;
        break;
      }
      case 'model':
        settings.model = readChoice(text, 'model', MODEL_SOURCES, problems) ?? settings.model;
        break;
      case 'fisher':
        settings.fisher = readChoice(text, 'fisher', FISHER_CHOICES, problems) ?? settings.fisher;
        break;
      case 'steps':
        settings.steps = readInteger(text, 'steps', 1, MAX_TRAIN_STEPS, problems) ?? settings.steps;
        break;
      case 'seed':
        settings.seed = readInteger(text, 'seed', 0, 2 ** 31 - 1, problems) ?? settings.seed;
        break;
      case 'examples':
        settings.examples = readInteger(text, 'examples', 1, MAX_CURVATURE_EXAMPLES, problems) ?? settings.examples;
        break;
      case 'exact':
        settings.exact = readInteger(text, 'exact', 0, MAX_EXACT_PARAMS, problems) ?? settings.exact;
        break;
      case 'layer':
        settings.layer = readInteger(text, 'layer', 0, MAX_LAYER, problems) ?? settings.layer;
        break;
    }
  }
  return problems.length > 0 ? fallback(problems) : { settings, errors: [] };
}

function fallback(problems: string[]): CurvatureFromUrl {
  const shown = problems.slice(0, MAX_MESSAGES);
  if (problems.length > MAX_MESSAGES) shown.push(`… and ${problems.length - MAX_MESSAGES} more problems`);
  shown.push('The link’s curvature settings were not used; the page shows its defaults instead.');
  return { settings: { ...DEFAULT_CURVATURE_SETTINGS }, errors: shown };
}

/** The query of these settings (every field, in a fixed order). */
export function curvatureSettingsToQuery(settings: CurvatureSettings): string {
  return FIELDS.map((field) => `${field}=${encodeURIComponent(String(settings[field]))}`).join('&');
}
