// The setup panel's pure logic (the task facts are checked in test/lab/tasks.test.ts): schema fields with defaults and visibility, config edits, arrow-key steps, and the mapping of
// validation messages to fields.
import { describe, expect, it } from 'vitest';
import { MAX_RUNS, validateConfig, type ExperimentConfig } from '../../src/engine/lab/experiment-config.ts';
import { presetConfig } from '../../src/engine/lab/presets.ts';
import { TASK_IDS } from '../../src/engine/lab/tasks.ts';
import { paramSpec, type NumericParam } from '../../src/engine/optim/schema.ts';
import { checkConfig, isValidConfig, labelProblem } from '../../src/ui/setup/config-checks.ts';
import {
  addRun,
  arrowStep,
  canAddRun,
  changeTask,
  defaultLabels,
  duplicateRun,
  effectiveDefault,
  fieldDomId,
  formatNumberInput,
  groupFields,
  ladderStep,
  matchesPreset,
  messageDetail,
  messagePath,
  messagesAt,
  otherRunMessages,
  parseNumberInput,
  pathAncestors,
  removeRun,
  resetParam,
  sameValue,
  setLabel,
  setOptimizer,
  setParam,
  validateSetup,
} from '../../src/ui/setup/setup-model.ts';

const numeric = (group: string, key: string) => paramSpec(group, key) as NumericParam;

describe('presets and tasks', () => {
  it('recognises every preset, and nothing else', () => {
    for (const id of TASK_IDS) {
      expect(matchesPreset(presetConfig(id))).toBe(true);
      expect(matchesPreset({ ...presetConfig(id), seed: 2 })).toBe(false);
      expect(matchesPreset(setParam(presetConfig(id), 0, 'hyper', 'lr', 0.123))).toBe(false);
    }
    // An explicit undefined is the same as absent.
    expect(
      matchesPreset({
        ...presetConfig('gcn-node'),
        optimizers: presetConfig('gcn-node').optimizers.map((e) => ({ ...e, clip: undefined })),
      }),
    ).toBe(true);
  });

  it('a new task loads its preset when the experiment was a preset, else changes only the task', () => {
    expect(changeTask(presetConfig('vit-mnist'), 'gcn-node')).toEqual(presetConfig('gcn-node'));
    const custom = { ...presetConfig('vit-mnist'), steps: 12 };
    expect(changeTask(custom, 'gcn-node')).toEqual({ ...custom, task: 'gcn-node' });
    expect(changeTask(custom, 'vit-mnist')).toBe(custom);
  });

  it('sameValue compares structure', () => {
    expect(sameValue({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(sameValue({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameValue([1], { 0: 1 })).toBe(false);
    expect(sameValue(NaN, NaN)).toBe(true);
    expect(sameValue({ a: undefined }, {})).toBe(true);
  });
});

describe('fields of a run', () => {
  const config = presetConfig('vit-mnist'); // sgd (lr tuned, momentum 0.9 = default), adam, kfac-expand, kfac-reduce
  const hyper = (run: number, key: string) => (config.optimizers[run].hyper as Record<string, unknown>)[key];

  it('lists every schema key with its effective value, default and changed flag', () => {
    const sgd = groupFields(config, 0, 'hyper');
    expect(sgd.map((f) => f.spec.key)).toEqual(['lr', 'momentum', 'nesterov', 'weightDecay']);
    const [lr, momentum, nesterov] = sgd;
    expect(lr).toMatchObject({
      path: 'optimizers[0].hyper.lr',
      value: hyper(0, 'lr'),
      defaultValue: 0.1,
      changed: true,
      visible: true,
      advanced: false,
    });
    expect(momentum).toMatchObject({ value: 0.9, defaultValue: 0.9, changed: false });
    expect(nesterov).toMatchObject({ value: false, changed: false });
  });

  it('marks the less common keys as advanced', () => {
    const adam = groupFields(config, 1, 'hyper');
    expect(adam.filter((f) => !f.advanced).map((f) => f.spec.key)).toEqual(['lr', 'weightDecay']);
    const kfac = groupFields(config, 3, 'hyper');
    expect(kfac.filter((f) => !f.advanced).map((f) => f.spec.key)).toEqual(['lr', 'damping', 'factorDecay', 'tInv', 'klClip']);
    expect(kfac.find((f) => f.spec.key === 'fallbackLr')).toMatchObject({ advanced: true, changed: true, value: hyper(3, 'fallbackLr') });
    expect(groupFields(config, 3, 'schedule').every((f) => !f.advanced)).toBe(true);
  });

  it('hides fields whose condition does not hold', () => {
    const visible = (c: ExperimentConfig, group: 'hyper' | 'schedule') =>
      groupFields(c, 3, group)
        .filter((f) => f.visible)
        .map((f) => f.spec.key);
    expect(visible(config, 'hyper')).toContain('mcSamples');
    expect(visible(setParam(config, 3, 'hyper', 'fisherType', 'type-2'), 'hyper')).not.toContain('mcSamples');
    expect(visible(config, 'schedule')).toEqual(['kind', 'warmupSteps']);
    expect(visible(setParam(config, 3, 'schedule', 'kind', 'cosine'), 'schedule')).toEqual([
      'kind',
      'warmupSteps',
      'totalSteps',
      'finalFraction',
    ]);
    expect(visible(setParam(config, 3, 'schedule', 'kind', 'step'), 'schedule')).toEqual([
      'kind',
      'warmupSteps',
      'decayEvery',
      'decayFactor',
    ]);
  });

  it('the schedule ends with the experiment unless told otherwise', () => {
    const totalSteps = paramSpec('schedule', 'totalSteps') as NumericParam;
    expect(effectiveDefault(totalSteps, 'schedule', config)).toBe(300);
    const field = groupFields(setParam(config, 0, 'schedule', 'totalSteps', 300), 0, 'schedule').find((f) => f.spec.key === 'totalSteps');
    expect(field).toMatchObject({ value: 300, defaultValue: 300, changed: false });
  });
});

describe('edits', () => {
  const config = presetConfig('mlp-spirals');

  it('set and reset a hyperparameter without touching the original', () => {
    const before = structuredClone(config);
    const changed = setParam(config, 1, 'clip', 'maxNorm', 5);
    expect(changed.optimizers[1].clip).toEqual({ maxNorm: 5 });
    expect(config).toEqual(before);
    expect(resetParam(changed, 1, 'clip', 'maxNorm').optimizers[1]).toEqual(config.optimizers[1]);
    expect(resetParam(config, 0, 'hyper', 'lr').optimizers[0].hyper).toEqual({ momentum: 0.9 });
    expect('hyper' in resetParam(config, 1, 'hyper', 'lr').optimizers[1]).toBe(false);
  });

  it('an empty label means the default label', () => {
    expect(setLabel(config, 0, 'fast').optimizers[0].label).toBe('fast');
    expect('label' in setLabel(config, 0, '').optimizers[0]).toBe(false);
  });

  it('switching the optimizer keeps the keys both have', () => {
    expect(setOptimizer(config, 0, 'adam').optimizers[0]).toEqual({ id: 'adam', label: 'SGD', hyper: { lr: 0.3 } });
    expect(setOptimizer(config, 2, 'kfac-reduce').optimizers[2].hyper).toEqual(config.optimizers[2].hyper);
    expect('hyper' in setOptimizer({ ...config, optimizers: [{ id: 'adam', hyper: { beta1: 0.5 } }] }, 0, 'sgd').optimizers[0]).toBe(false);
  });

  it('adds, duplicates and removes runs within the limits', () => {
    let c = config;
    const lrBefore = config.optimizers[2].hyper?.lr;
    c = addRun(c, 'adam');
    expect(c.optimizers.at(-1)).toEqual({ id: 'adam' });
    const copy = duplicateRun(c, 2);
    expect(copy.optimizers).toHaveLength(6);
    expect(copy.optimizers[3]).toEqual({ ...c.optimizers[2], label: 'K-FAC-expand (copy)' });
    (copy.optimizers[3].hyper as Record<string, unknown>).lr = 9;
    expect(c.optimizers[2].hyper?.lr).toBe(lrBefore); // a deep copy
    while (canAddRun(c)) c = addRun(c, 'sgd');
    expect(c.optimizers).toHaveLength(MAX_RUNS);
    expect(addRun(c, 'sgd')).toBe(c);
    expect(duplicateRun(c, 0)).toBe(c);
    expect(removeRun(c, 0).optimizers).toEqual(c.optimizers.slice(1));
    const single = { ...config, optimizers: [{ id: 'sgd' as const }] };
    expect(removeRun(single, 0)).toBe(single);
  });

  it('default labels are the runner’s', () => {
    const c = {
      ...config,
      optimizers: [{ id: 'adam' as const }, { id: 'sgd' as const }, { id: 'adam' as const, label: 'x' }, { id: 'adam' as const }],
    };
    const resolved = validateConfig(c);
    expect(resolved.ok).toBe(true);
    if (!resolved.ok) return;
    expect(resolved.config.optimizers.map((o) => o.label)).toEqual(['adam #1', 'sgd', 'x', 'adam #2']);
    expect(defaultLabels(c)).toEqual(['adam #1', 'sgd', 'adam #2', 'adam #2']);
  });
});

describe('numbers in inputs', () => {
  it('reads decimal and exponent text, NaN otherwise', () => {
    expect(parseNumberInput(' 1e-3 ')).toBe(0.001);
    expect(parseNumberInput('.5')).toBe(0.5);
    for (const bad of ['', '1e-', '0x10', 'NaN', 'Infinity', '1,5', '--1']) expect(parseNumberInput(bad)).toBeNaN();
    expect(formatNumberInput(1e-8)).toBe('1e-8');
    expect(formatNumberInput(NaN)).toBe('');
    expect(formatNumberInput('3')).toBe('');
  });

  it('steps log-scaled values along 1-2-5', () => {
    expect(ladderStep(0.001, 1)).toBe(0.002);
    expect(ladderStep(0.002, 1)).toBe(0.005);
    expect(ladderStep(0.005, 1)).toBe(0.01);
    expect(ladderStep(0.01, -1)).toBe(0.005);
    expect(ladderStep(0.003, 1)).toBe(0.005);
    expect(ladderStep(0.003, -1)).toBe(0.002);
    expect(ladderStep(1e-8, 1)).toBe(2e-8);
  });

  it('arrow keys respect the range, integers and "0 = off"', () => {
    const lr = numeric('sgd', 'lr');
    expect(arrowStep(lr, 0.1, 1)).toBe(0.2);
    expect(arrowStep(lr, 10, 1)).toBe(10);
    expect(arrowStep(lr, 1e-6, -1)).toBe(1e-6);
    expect(arrowStep(lr, NaN, 1)).toBe(1e-6);
    const decay = numeric('sgd', 'weightDecay');
    expect(arrowStep(decay, 0, 1)).toBe(1e-8);
    expect(arrowStep(decay, 1e-8, -1)).toBe(0);
    expect(arrowStep(decay, 1e-4, -1)).toBe(5e-5);
    const tInv = numeric('kfac-reduce', 'tInv');
    expect(arrowStep(tInv, 10, 1)).toBe(20);
    expect(arrowStep(tInv, 1, -1)).toBe(1);
    const warmup = numeric('schedule', 'warmupSteps');
    expect(arrowStep(warmup, 0, -1)).toBe(0);
    expect(arrowStep(warmup, 4, 1)).toBe(5);
    const momentum = numeric('sgd', 'momentum');
    expect(arrowStep(momentum, 0.9, 1)).toBe(0.91);
    expect(arrowStep(momentum, 0.995, 1)).toBe(0.999);
    expect(arrowStep(momentum, 0, -1)).toBe(0);
  });
});

describe('validation messages', () => {
  it('finds the path a message names', () => {
    expect(messagePath('optimizers[1].hyper.lr: 100 is out of range')).toBe('optimizers[1].hyper.lr');
    expect(messagePath('batchSize: expected an integer, got number NaN')).toBe('batchSize');
    expect(messagePath('optimizers: at most 8 runs per experiment, got 9')).toBe('optimizers');
    expect(messagePath('target.value: expected an accuracy')).toBe('target.value');
    expect(messagePath('no path here')).toBe('');
    expect(messageDetail('batchSize: expected an integer, got number NaN')).toBe('expected an integer (the box is empty or not a number)');
    expect(messageDetail('no path here')).toBe('no path here');
  });

  it('maps every message of an invalid config to its field', () => {
    let config = presetConfig('vit-mnist');
    config = { ...config, steps: NaN, target: { metric: 'valAccuracy', value: 3 } };
    config = setParam(config, 1, 'hyper', 'lr', 100);
    config = setParam(config, 3, 'hyper', 'fisherType', 'type-2');
    config = setParam(config, 3, 'hyper', 'mcSamples', 0); // out of range and hidden
    config = setParam(config, 2, 'hyper', 'bogus', 1);
    config = setLabel(config, 0, '<b>');
    const validation = validateSetup(config);
    expect(validation.ok).toBe(false);
    expect(isValidConfig(config)).toBe(false);
    expect(messagesAt(validation, 'steps')).toEqual(['expected an integer (the box is empty or not a number)']);
    expect(messagesAt(validation, 'target.value')).toHaveLength(1);
    expect(messagesAt(validation, 'optimizers[1].hyper.lr')[0]).toMatch(/^100 is out of range/);
    expect(messagesAt(validation, 'optimizers[0].label')[0]).toMatch(/must not contain < or >/);
    expect(otherRunMessages(validation, config, 1)).toEqual([]);
    expect(otherRunMessages(validation, config, 2)).toEqual([
      expect.stringMatching(/^optimizers\[2\]\.hyper\.bogus: unknown hyperparameter/),
    ]);
    expect(otherRunMessages(validation, config, 3)).toEqual([
      expect.stringMatching(/^optimizers\[3\]\.hyper\.mcSamples: 0 is out of range/),
    ]);
    expect(validation.errors).toHaveLength(6);
  });

  it('a valid config has no messages', () => {
    for (const id of TASK_IDS) {
      const validation = validateSetup(presetConfig(id));
      expect(validation).toMatchObject({ ok: true, errors: [] });
      expect(isValidConfig(presetConfig(id))).toBe(true);
    }
  });

  it('label rules', () => {
    expect(labelProblem('K-FAC λ=0.01, "fast" & #1', 'l')).toBeNull();
    expect(labelProblem('x'.repeat(61), 'l')).toMatch(/^l: at most 60/);
    expect(labelProblem('a<b', 'l')).toMatch(/< or >/);
    expect(labelProblem('a\tb', 'l')).toMatch(/control/);
    expect(labelProblem('a\u2067b', 'l')).toMatch(/control/);
    expect(labelProblem('a\udc00', 'l')).toMatch(/broken character/);
    expect(labelProblem('🚀', 'l')).toBeNull();
    expect(checkConfig({ ...presetConfig('mlp-spirals'), optimizers: [{ id: 'sgd', label: 5 }] })).toEqual({
      ok: false,
      errors: ['optimizers[0].label: expected a non-empty string, got 5'],
    });
    expect(checkConfig(null).ok).toBe(false);
  });

  it('gives every path its own element id and its ancestors', () => {
    const paths = [
      'task',
      'optimizers',
      'optimizers[0]',
      'optimizers[0].id',
      'optimizers[0].hyper.lr',
      'optimizers[1].hyper.lr',
      'target.value',
      'target',
    ];
    const ids = paths.map(fieldDomId);
    expect(new Set(ids).size).toBe(paths.length);
    for (const id of ids) expect(id).toMatch(/^setup-[\w-]+$/);
    expect(pathAncestors('optimizers[0].hyper.lr')).toEqual([
      'optimizers[0].hyper.lr',
      'optimizers[0].hyper',
      'optimizers[0]',
      'optimizers',
    ]);
    expect(pathAncestors('steps')).toEqual(['steps']);
    expect(pathAncestors('')).toEqual([]);
  });
});
