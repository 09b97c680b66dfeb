// The Pruning page's settings in the URL, after '#/pruning?' (router.ts):
//
//   task=mlp-mnist&model=train&steps=600&seed=1&methods=magnitude,woodfisher,kfac-obs&sparsity=0.5,0.8,0.9
//   &scope=global&damping=0.0001&examples=512&finetune=0&gradual=1
//
// - model: 'train' (trained on this page with Adam for `steps` steps) or 'checkpoint' (kept in this
//   browser or uploaded; the bytes are not part of a link). methods and sparsity are lists; gradual is
//   the number of pruning steps per sparsity (1 = one shot).
// - Missing fields take their defaults; anything unknown, repeated, malformed or out of range gives
//   one message naming the field, and then every field takes its default.
import { MAX_CURVATURE_EXAMPLES, MAX_TRAIN_STEPS } from '../../../worker/jobs/limits.ts';

export const PRUNING_TASKS = ['mlp-mnist', 'cnn-mnist'] as const;
export type PruningTask = (typeof PRUNING_TASKS)[number];
export const PRUNING_METHODS = ['magnitude', 'diag-fisher', 'woodfisher', 'kfac-obs'] as const;
export type PruningMethod = (typeof PRUNING_METHODS)[number];
export const PRUNING_SOURCES = ['train', 'checkpoint'] as const;

export interface PruningSettings {
  task: PruningTask;
  model: (typeof PRUNING_SOURCES)[number];
  steps: number;
  seed: number;
  methods: PruningMethod[];
  sparsities: number[];
  scope: 'layer' | 'global';
  damping: number;
  examples: number;
  finetune: number;
  gradual: number;
}

export const DEFAULT_PRUNING_SETTINGS: Readonly<PruningSettings> = {
  task: 'mlp-mnist',
  model: 'train',
  steps: 600,
  seed: 1,
  methods: ['magnitude', 'diag-fisher', 'woodfisher', 'kfac-obs'],
  sparsities: [0.3, 0.5, 0.7, 0.8, 0.9, 0.95],
  scope: 'global',
  damping: 1e-4,
  examples: 512,
  finetune: 0,
  gradual: 1,
};

const FIELDS = ['task', 'model', 'steps', 'seed', 'methods', 'sparsity', 'scope', 'damping', 'examples', 'finetune', 'gradual'] as const;
const MAX_QUERY_LENGTH = 2048;
const MAX_SPARSITIES = 24;

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function integer(text: string, field: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new Error(`${field}: expected a whole number from ${min} to ${max}, got ${quote(text)}`);
  return n;
}

/** The settings of a query string; on any problem, the defaults and the messages. */
export function pruningSettingsFromQuery(query: string): { settings: PruningSettings; errors: string[] } {
  const defaults = {
    ...DEFAULT_PRUNING_SETTINGS,
    methods: [...DEFAULT_PRUNING_SETTINGS.methods],
    sparsities: [...DEFAULT_PRUNING_SETTINGS.sparsities],
  };
  if (query === '') return { settings: defaults, errors: [] };
  if (query.length > MAX_QUERY_LENGTH)
    return { settings: defaults, errors: [`the settings are longer than ${MAX_QUERY_LENGTH} characters`] };
  const errors: string[] = [];
  const s: PruningSettings = { ...defaults };
  const seen = new Set<string>();
  for (const [key, value] of new URLSearchParams(query)) {
    try {
      if (!(FIELDS as readonly string[]).includes(key)) throw new Error(`${quote(key)}: unknown setting (known: ${FIELDS.join(', ')})`);
      if (seen.has(key)) throw new Error(`${key}: given twice`);
      seen.add(key);
      switch (key) {
        case 'task':
          if (!(PRUNING_TASKS as readonly string[]).includes(value))
            throw new Error(`task: expected one of ${PRUNING_TASKS.join(', ')}, got ${quote(value)}`);
          s.task = value as PruningTask;
          break;
        case 'model':
          if (!(PRUNING_SOURCES as readonly string[]).includes(value))
            throw new Error(`model: expected train or checkpoint, got ${quote(value)}`);
          s.model = value as PruningSettings['model'];
          break;
        case 'steps':
          s.steps = integer(value, 'steps', 0, MAX_TRAIN_STEPS);
          break;
        case 'seed':
          s.seed = integer(value, 'seed', 0, 2 ** 31 - 1);
          break;
        case 'methods': {
          const list = value.split(',');
          if (
            list.length === 0 ||
            list.some((m) => !(PRUNING_METHODS as readonly string[]).includes(m)) ||
            new Set(list).size !== list.length
          )
            throw new Error(`methods: expected distinct methods from ${PRUNING_METHODS.join(', ')}, got ${quote(value)}`);
          s.methods = list as PruningMethod[];
          break;
        }
        case 'sparsity': {
          const list = value.split(',').map(Number);
          if (list.length > MAX_SPARSITIES || value === '' || list.some((x) => !(x >= 0 && x <= 1)))
            throw new Error(`sparsity: expected up to ${MAX_SPARSITIES} fractions in [0, 1], got ${quote(value)}`);
          s.sparsities = [...new Set(list)].sort((a, b) => a - b);
          break;
        }
        case 'scope':
          if (value !== 'layer' && value !== 'global') throw new Error(`scope: expected layer or global, got ${quote(value)}`);
          s.scope = value;
          break;
        case 'damping': {
          const x = Number(value);
          if (value === '' || !(x > 0) || !Number.isFinite(x)) throw new Error(`damping: expected a number > 0, got ${quote(value)}`);
          s.damping = x;
          break;
        }
        case 'examples':
          s.examples = integer(value, 'examples', 1, MAX_CURVATURE_EXAMPLES);
          break;
        case 'finetune':
          s.finetune = integer(value, 'finetune', 0, MAX_TRAIN_STEPS);
          break;
        case 'gradual':
          s.gradual = integer(value, 'gradual', 1, 20);
          break;
      }
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return errors.length > 0 ? { settings: defaults, errors } : { settings: s, errors };
}

/** The query string of settings (every field, in a fixed order). */
export function pruningSettingsToQuery(s: PruningSettings): string {
  const p = new URLSearchParams();
  p.set('task', s.task);
  p.set('model', s.model);
  p.set('steps', String(s.steps));
  p.set('seed', String(s.seed));
  p.set('methods', s.methods.join(','));
  p.set('sparsity', s.sparsities.join(','));
  p.set('scope', s.scope);
  p.set('damping', String(s.damping));
  p.set('examples', String(s.examples));
  p.set('finetune', String(s.finetune));
  p.set('gradual', String(s.gradual));
  return p.toString().replaceAll('%2C', ',');
}
