import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  GROUP_IDS,
  OPTIMIZER_IDS,
  SCHEMA,
  defaults,
  describeRange,
  docsTable,
  formatAssignment,
  groupSpec,
  parseAssignment,
  parseAssignments,
  validate,
  validateOrThrow,
  type GroupSpec,
  type HyperValues,
  type ParamSpec,
} from '../../src/engine/optim/schema.ts';

const allParams = (): { group: (typeof GROUP_IDS)[number]; p: ParamSpec }[] =>
  GROUP_IDS.flatMap((group) => (SCHEMA[group] as GroupSpec).params.map((p) => ({ group, p })));

function errorsOf(id: string, partial: Record<string, unknown>): string[] {
  const r = validate(id, partial);
  expect(r.ok, `${id} ${JSON.stringify(partial)} should be rejected`).toBe(false);
  return r.ok ? [] : r.errors;
}

describe('hyperparameter schema: structure', () => {
  it('has the optimizers and settings the lab needs', () => {
    expect(OPTIMIZER_IDS).toEqual(['sgd', 'adam', 'adamw', 'kfac-expand', 'kfac-reduce']);
    expect(GROUP_IDS).toEqual([...OPTIMIZER_IDS, 'schedule', 'clip']);
    const kfacKeys = SCHEMA['kfac-reduce'].params.map((p) => p.key);
    for (const key of [
      'lr',
      'damping',
      'factorDecay',
      'tCov',
      'tInv',
      'inverseMethod',
      'klClip',
      'momentum',
      'weightDecay',
      'fisherType',
      'mcSamples',
      'fallback',
      'adaptiveDamping',
    ]) {
      expect(kfacKeys).toContain(key);
    }
    expect(SCHEMA['kfac-expand'].params.map((p) => p.key)).toEqual(kfacKeys);
  });

  it('every entry is complete and its default is valid (docs/kfac.md §4 defaults for K-FAC)', () => {
    for (const { group, p } of allParams()) {
      const where = `${group}.${p.key}`;
      expect(p.label.length, where).toBeGreaterThan(0);
      expect(p.help.length, `${where} help`).toBeGreaterThan(20);
      expect(checkDefault(group, p), where).toBe(true);
      if (p.type === 'number' || p.type === 'integer') {
        expect(p.min, where).toBeLessThan(p.max);
        if (p.scale === 'log') expect(p.min, `${where}: a log scale needs min > 0`).toBeGreaterThan(0);
        if (p.type === 'integer') expect(Number.isInteger(p.min) && Number.isInteger(p.max), where).toBe(true);
      }
      if (p.type === 'enum') expect(p.options.map((o) => o.value)).toContain(p.default);
      if (p.onlyWhen)
        expect(
          (SCHEMA[group] as GroupSpec).params.some((q) => q.key === p.onlyWhen!.key),
          `${where} condition`,
        ).toBe(true);
    }
    const k = defaults('kfac-expand');
    expect(k).toMatchObject({
      damping: 1e-3,
      factorDecay: 0.95,
      tCov: 1,
      tInv: 10,
      klClip: 1e-3,
      fisherType: 'mc',
      mcSamples: 1,
      inverseMethod: 'cholesky',
    });
  });

  it('keys are unique within a group', () => {
    for (const group of GROUP_IDS) {
      const keys = (SCHEMA[group] as GroupSpec).params.map((p) => p.key);
      expect(new Set(keys).size, group).toBe(keys.length);
    }
  });

  it('derives typed values from the schema', () => {
    expectTypeOf(defaults('adam')).toEqualTypeOf<HyperValues<'adam'>>();
    expectTypeOf<HyperValues<'sgd'>>().toEqualTypeOf<{ lr: number; momentum: number; nesterov: boolean; weightDecay: number }>();
    expectTypeOf<HyperValues<'kfac-reduce'>['fisherType']>().toEqualTypeOf<'type-2' | 'mc' | 'empirical'>();
    expectTypeOf<HyperValues<'schedule'>['kind']>().toEqualTypeOf<'constant' | 'cosine' | 'step'>();
  });
});

function checkDefault(group: string, p: ParamSpec): boolean {
  const r = validate(group, { [p.key]: p.default });
  return r.ok;
}

describe('defaults and validate', () => {
  it('defaults() gives every key its default; validate() fills the rest', () => {
    expect(defaults('sgd')).toEqual({ lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 0 });
    const r = validate('adamw', { lr: 3e-4 });
    expect(r).toEqual({ ok: true, values: { ...defaults('adamw'), lr: 3e-4 } });
    expect(validate('sgd', { weightDecay: 0 }).ok).toBe(true); // 0 = off, below the log range's min
    expect(validate('sgd', { lr: undefined }).ok).toBe(true);
  });

  it('out-of-range values name the field and the allowed range', () => {
    expect(errorsOf('sgd', { lr: 20 })).toEqual(['sgd.lr: 20 is out of range (allowed: 1e-6 to 10)']);
    expect(errorsOf('adam', { beta1: 1 })).toEqual(['adam.beta1: 1 is out of range (allowed: 0 to 0.9999)']);
    expect(errorsOf('sgd', { weightDecay: -0.1 })).toEqual(['sgd.weightDecay: -0.1 is out of range (allowed: 1e-8 to 1, or 0 = off)']);
    expect(errorsOf('kfac-reduce', { tInv: 0 })).toEqual(['kfac-reduce.tInv: 0 is out of range (allowed: 1 to 10000)']);
    expect(errorsOf('kfac-expand', { damping: 0 })).toEqual(['kfac-expand.damping: 0 is out of range (allowed: 1e-8 to 10)']);
  });

  it('ill-typed values', () => {
    expect(errorsOf('adam', { lr: '0.1' })).toEqual(['adam.lr: expected a finite number, got string "0.1"']);
    expect(errorsOf('adam', { lr: NaN })).toEqual(['adam.lr: expected a finite number, got number NaN']);
    expect(errorsOf('kfac-reduce', { tCov: 2.5 })).toEqual(['kfac-reduce.tCov: expected an integer, got 2.5']);
    expect(errorsOf('sgd', { nesterov: 1 })).toEqual(['sgd.nesterov: expected true or false, got number 1']);
    expect(errorsOf('kfac-expand', { inverseMethod: 'lu' })).toEqual([
      'kfac-expand.inverseMethod: expected one of cholesky | eigen | thermodynamic, got "lu"',
    ]);
    expect(errorsOf('kfac-expand', { fisherType: 2 })).toEqual([
      'kfac-expand.fisherType: expected one of type-2 | mc | empirical, got number 2',
    ]);
  });

  it('unknown keys and groups, several problems at once', () => {
    expect(errorsOf('adam', { learningRate: 0.1 })).toEqual([
      'adam.learningRate: unknown hyperparameter (known for adam: lr, beta1, beta2, eps, weightDecay)',
    ]);
    expect(errorsOf('lion', {})).toEqual([
      'unknown optimizer or setting "lion" (known: sgd, adam, adamw, kfac-expand, kfac-reduce, schedule, clip)',
    ]);
    expect(errorsOf('sgd', { lr: -1, nesterov: 'yes', foo: 1 })).toHaveLength(3);
    expect(() => validateOrThrow('sgd', { lr: -1 })).toThrow(/sgd.lr: -1 is out of range/);
    expect(() => groupSpec('lion')).toThrow(/unknown optimizer or setting "lion"/);
  });

  it('describes ranges for every type', () => {
    expect(describeRange(SCHEMA.clip.params[0])).toBe('1e-4 to 10000, or 0 = off');
    expect(describeRange(SCHEMA.sgd.params[2])).toBe('true or false');
    expect(describeRange(SCHEMA.schedule.params[0])).toBe('one of constant | cosine | step');
  });
});

describe('parseAssignment (CLI and URL)', () => {
  it('parses each type', () => {
    expect(parseAssignment('kfac-reduce.damping=0.01')).toEqual({
      ok: true,
      assignment: { group: 'kfac-reduce', key: 'damping', value: 0.01 },
    });
    expect(parseAssignment('adam.eps=1e-7')).toEqual({ ok: true, assignment: { group: 'adam', key: 'eps', value: 1e-7 } });
    expect(parseAssignment('kfac-expand.tInv=5')).toEqual({ ok: true, assignment: { group: 'kfac-expand', key: 'tInv', value: 5 } });
    expect(parseAssignment('sgd.nesterov=true')).toEqual({ ok: true, assignment: { group: 'sgd', key: 'nesterov', value: true } });
    expect(parseAssignment('sgd.nesterov=off')).toEqual({ ok: true, assignment: { group: 'sgd', key: 'nesterov', value: false } });
    expect(parseAssignment(' schedule.kind = cosine ')).toEqual({
      ok: true,
      assignment: { group: 'schedule', key: 'kind', value: 'cosine' },
    });
    expect(parseAssignment('kfac-reduce.fisherType=type-2')).toEqual({
      ok: true,
      assignment: { group: 'kfac-reduce', key: 'fisherType', value: 'type-2' },
    });
  });

  it('gives clear errors', () => {
    const error = (text: string) => {
      const r = parseAssignment(text);
      expect(r.ok, text).toBe(false);
      return r.ok ? '' : r.error;
    };
    expect(error('kfac-reduce.damping')).toMatch(/expected group.key=value/);
    expect(error('damping=0.1')).toMatch(/expected group.key=value/);
    expect(error('kfac.damping=0.1')).toMatch(/unknown optimizer or setting "kfac"/);
    expect(error('adam.momentum=0.9')).toBe('adam.momentum: unknown hyperparameter (known for adam: lr, beta1, beta2, eps, weightDecay)');
    expect(error('adam.lr=fast')).toBe('adam.lr: expected a number, got "fast"');
    expect(error('adam.lr=')).toBe('adam.lr: expected a number, got ""');
    expect(error('adam.lr=0x10')).toBe('adam.lr: expected a number, got "0x10"');
    expect(error('adam.lr=5')).toBe('adam.lr: 5 is out of range (allowed: 1e-6 to 1)');
    expect(error('kfac-expand.tCov=1.5')).toBe('kfac-expand.tCov: expected an integer, got 1.5');
    expect(error('sgd.nesterov=maybe')).toBe('sgd.nesterov: expected true or false, got "maybe"');
    expect(error('kfac-expand.inverseMethod=lu')).toBe(
      'kfac-expand.inverseMethod: expected one of cholesky | eigen | thermodynamic, got "lu"',
    );
  });

  it('round-trips every default and awkward numbers through formatAssignment', () => {
    for (const { group, p } of allParams()) {
      const text = formatAssignment(group, p.key, p.default);
      expect(parseAssignment(text), text).toEqual({ ok: true, assignment: { group, key: p.key, value: p.default } });
    }
    for (const value of [1e-7, 0.1 + 0.2, 0.3 / 1000, 1 / 3, 1e-12, 0.123456789012345]) {
      const text = formatAssignment('adam', 'eps', value);
      const r = parseAssignment(text);
      expect(r.ok && r.assignment.value, text).toBe(value);
    }
  });

  it('parseAssignments groups many assignments and collects errors', () => {
    const { values, errors } = parseAssignments(['adam.lr=0.01', 'adam.beta2=0.99', 'schedule.kind=step', 'clip.maxNorm=1', 'sgd.lr=oops']);
    expect(values).toEqual({ adam: { lr: 0.01, beta2: 0.99 }, schedule: { kind: 'step' }, clip: { maxNorm: 1 } });
    expect(errors).toEqual(['sgd.lr: expected a number, got "oops"']);
    expect(validate('adam', values.adam).ok).toBe(true);
  });
});

describe('docsTable', () => {
  it('renders one markdown table per group with every key', () => {
    const md = docsTable();
    for (const group of GROUP_IDS) expect(md).toContain(`### ${SCHEMA[group].label} (\`${group}\`)`);
    for (const { group, p } of allParams()) expect(md).toContain(`| \`${group}.${p.key}\` |`);
    expect(md).toContain('| `kfac-reduce.damping` | Damping λ | number | 0.001 | 1e-8 to 10 | log |');
    expect(md).toContain(
      '| `kfac-reduce.inverseMethod` | Inverse method | enum | cholesky | one of cholesky \\| eigen \\| thermodynamic |  |',
    );
    // Every table row has the same number of cells as its header.
    for (const line of md.split('\n').filter((l) => l.startsWith('| `'))) {
      expect(line.replace(/\\\|/g, '').split('|').length, line).toBe(9);
    }
  });
});
