// The lab's checks of an experiment config: the engine's validateConfig plus the rules the browser
// adds for run labels, which end up in chart legends and direct labels (plotly reads a subset of
// HTML in text, so markup characters are refused rather than trusted to escaping downstream).
import { validateConfig, type ConfigValidation } from '../../engine/lab/experiment-config.ts';

/** Longest run label, in UTF-16 code units (keeps legends readable and the URL short). */
export const MAX_LABEL_LENGTH = 60;

// C0/C1 control characters and the bidirectional overrides/isolates (which can disguise text).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** Half of a surrogate pair without its other half: not text (and not encodable in a URL). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `label` cannot name a run, or null. `where` names the field ("optimizers[0].label"). */
export function labelProblem(label: string, where: string): string | null {
  if (label.length > MAX_LABEL_LENGTH) return `${where}: at most ${MAX_LABEL_LENGTH} characters, got ${label.length}`;
  if (/[<>]/.test(label)) return `${where}: must not contain < or > (labels are plain text)`;
  if (CONTROL_CHARACTERS.test(label)) return `${where}: must not contain control or text-direction characters`;
  if (LONE_SURROGATE.test(label)) return `${where}: contains a broken character (half of a surrogate pair)`;
  return null;
}

function labelProblems(config: unknown): string[] {
  if (typeof config !== 'object' || config === null) return [];
  const optimizers = (config as { optimizers?: unknown }).optimizers;
  if (!Array.isArray(optimizers)) return [];
  const problems: string[] = [];
  optimizers.forEach((entry: unknown, i) => {
    const label = typeof entry === 'object' && entry !== null ? (entry as { label?: unknown }).label : undefined;
    if (typeof label !== 'string') return; // validateConfig reports labels of other types
    const problem = labelProblem(label, `optimizers[${i}].label`);
    if (problem) problems.push(problem);
  });
  return problems;
}

/** validateConfig plus the label rules: every problem one message naming its field. */
export function checkConfig(config: unknown): ConfigValidation {
  const engine = validateConfig(config);
  const labels = labelProblems(config);
  if (engine.ok && labels.length === 0) return engine;
  return { ok: false, errors: [...(engine.ok ? [] : engine.errors), ...labels] };
}

/** True when the lab may start this config (the lead disables Start otherwise). */
export function isValidConfig(config: unknown): boolean {
  return checkConfig(config).ok;
}
