// The experiment config in the URL hash: exact round-trips of every preset and of every schema
// value, and hostile or malformed links that must give plain-text messages and the default preset.
import { describe, expect, it } from 'vitest';
import { MAX_RUNS, type ExperimentConfig, type OptimizerEntry } from '../../src/engine/lab/experiment-config.ts';
import { presetConfig } from '../../src/engine/lab/presets.ts';
import { TASK_IDS } from '../../src/engine/lab/tasks.ts';
import { groupSpec, OPTIMIZER_IDS, type ParamSpec } from '../../src/engine/optim/schema.ts';
import { MAX_LABEL_LENGTH } from '../../src/ui/setup/config-checks.ts';
import { configFromHash, configToHash, DEFAULT_TASK, MAX_HASH_LENGTH } from '../../src/ui/url-state.ts';

function roundTrip(config: ExperimentConfig): ExperimentConfig {
  const hash = configToHash(config);
  expect(hash.startsWith('#')).toBe(true);
  const read = configFromHash(hash);
  expect(read.errors).toEqual([]);
  expect(read.fromUrl).toBe(true);
  return read.config;
}

/** A valid value different from the default, with many digits where the type allows. */
function otherValue(p: ParamSpec): number | boolean | string {
  switch (p.type) {
    case 'boolean':
      return !p.default;
    case 'enum':
      return p.options.map((o) => o.value).find((v) => v !== p.default) as string;
    case 'integer':
      return p.default === p.max ? p.min : Math.min(p.max, p.default + 3);
    case 'number': {
      const x = p.scale === 'log' ? Math.sqrt(p.min * p.max) * 1.2345678901234567 : p.min + (p.max - p.min) / 3;
      return x === p.default ? p.min : x;
    }
  }
}

function everyKey(groupId: string): Record<string, unknown> {
  return Object.fromEntries(groupSpec(groupId).params.map((p) => [p.key, otherValue(p)]));
}

const base = (optimizers: OptimizerEntry[], overrides: Partial<ExperimentConfig> = {}): ExperimentConfig => ({
  ...presetConfig('mlp-spirals'),
  optimizers,
  ...overrides,
});

describe('configToHash / configFromHash round trip', () => {
  it.each(TASK_IDS)('the %s preset', (task) => {
    expect(roundTrip(presetConfig(task))).toEqual(presetConfig(task));
  });

  it('writes a readable hash', () => {
    const hash = configToHash(presetConfig('vit-mnist'));
    const p = presetConfig('vit-mnist');
    const [sgd, , , reduce] = p.optimizers;
    expect(
      hash.startsWith(
        `#task=vit-mnist&batchSize=64&steps=${p.steps}&seed=1&evalInterval=${p.evalInterval}&target=${p.target!.value}&opt=sgd:label=SGD,lr=${sgd.hyper!.lr},`,
      ),
    ).toBe(true);
    expect(hash).toContain(`&opt=kfac-reduce:label=K-FAC-reduce,lr=${reduce.hyper!.lr},damping=${reduce.hyper!.damping}`);
  });

  it('repeated optimizers with different settings and free-form labels', () => {
    const labels = [
      'Adam — β₂ ≈ 0.99 🚀',
      `Tom's "fast" run & co = #1`,
      '100% , : ; + ? / \\ ~ * ( ) !',
      ' spaced ',
      'lr=0.1,damping=2',
      'ü',
    ];
    const config = base(labels.map((label, i) => ({ id: 'adam', label, hyper: { lr: 10 ** -(i + 1), beta2: 0.99 } })));
    const back = roundTrip(config);
    expect(back).toEqual(config);
    for (const [i, label] of labels.entries()) {
      expect(typeof back.optimizers[i].label).toBe('string');
      expect(back.optimizers[i].label).toBe(label);
    }
  });

  it.each(OPTIMIZER_IDS)('every hyperparameter, schedule and clip value of %s', (id) => {
    const config = base([
      { id, hyper: everyKey(id), schedule: everyKey('schedule'), clip: everyKey('clip') },
      { id, hyper: { lr: 0.000123456789 }, schedule: { kind: 'step', decayEvery: 7, decayFactor: 0.1 } },
      { id },
    ]);
    expect(roundTrip(config)).toEqual(config);
  });

  it('every schedule kind, integers and exponents', () => {
    for (const kind of ['constant', 'cosine', 'step']) {
      const config = base([{ id: 'sgd', hyper: { lr: 1e-6, weightDecay: 0 }, schedule: { kind, warmupSteps: 0, totalSteps: 1e7 } }], {
        steps: 1_000_000,
        seed: 0xffffffff,
        batchSize: 4096,
        evalInterval: 1,
      });
      expect(roundTrip(config)).toEqual(config);
    }
  });

  it('target none, and an absent target read back as none', () => {
    const config = base([{ id: 'sgd' }], { target: null });
    expect(configToHash(config)).toContain('&target=none&');
    expect(roundTrip(config).target).toBeNull();
    const { target: _omitted, ...withoutTarget } = config;
    expect(roundTrip(withoutTarget).target).toBeNull();
  });

  it('groups with no values are left out', () => {
    const config = base([{ id: 'sgd', label: undefined, hyper: {}, schedule: {}, clip: {} }]);
    expect(configToHash(config)).toMatch(/&opt=sgd$/);
    expect(roundTrip(config).optimizers).toEqual([{ id: 'sgd' }]);
  });

  it('the longest valid config stays within the size limit', () => {
    const label = '€'.repeat(MAX_LABEL_LENGTH); // nine characters each once percent-encoded
    const config = base(
      Array.from({ length: MAX_RUNS }, () => ({
        id: 'kfac-expand' as const,
        label,
        hyper: everyKey('kfac-expand'),
        schedule: everyKey('schedule'),
        clip: everyKey('clip'),
      })),
    );
    const hash = configToHash(config);
    expect(hash.length).toBeLessThan(MAX_HASH_LENGTH);
    expect(roundTrip(config)).toEqual(config);
  });

  it('never throws while writing, even for a label that is not well-formed text', () => {
    expect(() => configToHash(base([{ id: 'sgd', label: 'a\uD800b' }]))).not.toThrow();
  });
});

describe('reading hand-written and partial links', () => {
  it('an empty hash is the default preset, without messages', () => {
    for (const hash of ['', '#', '#  ']) {
      expect(configFromHash(hash)).toEqual({ config: presetConfig(DEFAULT_TASK), errors: [], fromUrl: false });
    }
    expect(DEFAULT_TASK).toBe('vit-mnist');
  });

  it('missing fields take the preset of the task', () => {
    expect(configFromHash('#task=gcn-node')).toEqual({ config: presetConfig('gcn-node'), errors: [], fromUrl: true });
    expect(configFromHash('task=cnn-mnist&steps=50').config).toEqual({ ...presetConfig('cnn-mnist'), steps: 50 });
    expect(configFromHash('#opt=adam&opt=adam:lr=0.01').config).toEqual({
      ...presetConfig(DEFAULT_TASK),
      optimizers: [{ id: 'adam' }, { id: 'adam', hyper: { lr: 0.01 } }],
    });
  });

  it('accepts percent-encoded names and values as browsers may write them', () => {
    const read = configFromHash('#task=%76it-mnist&opt=sgd:label=A%20%22B%22,lr=1e-2');
    expect(read.errors).toEqual([]);
    expect(read.config.optimizers).toEqual([{ id: 'sgd', label: 'A "B"', hyper: { lr: 0.01 } }]);
  });
});

describe('bad and hostile links', () => {
  const cases: [string, string, RegExp][] = [
    ['text for a number', '#steps=abc', /^steps: expected a number, got "abc"/],
    ['NaN', '#steps=NaN', /^steps: expected a number/],
    ['Infinity', '#seed=Infinity', /^seed: expected a number/],
    ['an overflowing number', '#steps=1e999', /^steps: expected an integer, got number Infinity/],
    ['a huge number', '#steps=99999999999999', /^steps: 99999999999999 is out of range/],
    ['a fraction for an integer', '#batchSize=1.5', /^batchSize: expected an integer/],
    ['hex', '#evalInterval=0x10', /^evalInterval: expected a number/],
    ['an unknown field', '#foo=1', /^"foo": unknown field/],
    ['a name without value', '#steps', /^"steps": expected name=value/],
    ['a repeated field', '#steps=10&steps=20', /^steps: given more than once/],
    ['an unknown task', '#task=resnet', /^task: unknown task "resnet"/],
    ['a target above 1', '#target=2', /^target\.value: expected an accuracy between 0 and 1/],
    ['a target as text', '#target=high', /^target\.value: expected a number/],
    ['an unknown optimizer', '#opt=sgd&opt=lbfgs', /^optimizers\[1\]\.id: unknown optimizer "lbfgs"/],
    ['an out-of-range rate', '#opt=adam&opt=sgd:lr=100', /^optimizers\[1\]\.hyper\.lr: 100 is out of range/],
    ['an unknown hyperparameter', '#opt=sgd:beta1=0.9', /^optimizers\[0\]: unknown setting "beta1"/],
    ['an unknown group', '#opt=sgd:warmup.steps=3', /^optimizers\[0\]: unknown setting "warmup\.steps"/],
    ['a bad boolean', '#opt=sgd:nesterov=maybe', /^optimizers\[0\]\.hyper\.nesterov: expected true or false/],
    ['a bad enum', '#opt=kfac-reduce:inverseMethod=magic', /^optimizers\[0\]\.hyper\.inverseMethod: expected one of cholesky \| eigen/],
    ['a bad schedule', '#opt=sgd:schedule.kind=linear', /^optimizers\[0\]\.schedule\.kind: expected one of/],
    ['a bad clip', '#opt=sgd:clip.maxNorm=-1', /^optimizers\[0\]\.clip\.maxNorm: -1 is out of range/],
    ['a repeated hyperparameter', '#opt=sgd:lr=0.1,lr=0.2', /^optimizers\[0\]\.hyper\.lr: given more than once/],
    ['a repeated label', '#opt=sgd:label=a,label=b', /^optimizers\[0\]\.label: given more than once/],
    ['an item without value', '#opt=sgd:lr', /^optimizers\[0\]: "lr" has no value/],
    ['an empty label', '#opt=sgd:label=', /^optimizers\[0\]\.label: expected a non-empty string/],
    ['a blank label', '#opt=sgd:label=%20%20', /^optimizers\[0\]\.label: expected a non-empty string/],
    ['a script tag in a label', '#opt=sgd:label=%3Cscript%3Ealert(1)%3C%2Fscript%3E', /^optimizers\[0\]\.label: must not contain < or >/],
    ['an img tag in a label', '#opt=sgd:label=<img src=x onerror=alert(1)>', /^optimizers\[0\]\.label: must not contain < or >/],
    ['a control character in a label', '#opt=sgd:label=a%0Ab', /^optimizers\[0\]\.label: must not contain control/],
    ['a text-direction override in a label', '#opt=sgd:label=a%E2%80%AEb', /^optimizers\[0\]\.label: must not contain control/],
    ['a too long label', `#opt=sgd:label=${'x'.repeat(MAX_LABEL_LENGTH + 1)}`, /^optimizers\[0\]\.label: at most 60 characters/],
    ['too many runs', `#${Array.from({ length: MAX_RUNS + 1 }, () => 'opt=sgd').join('&')}`, /^optimizers: at most 8 runs/],
    ['broken percent-encoding in a name', '#st%ZZeps=1', /^link: broken percent-encoding/],
    ['broken percent-encoding in a value', '#task=%E0%A4%A', /^task: broken percent-encoding/],
    ['broken UTF-8 in a label', '#opt=sgd:label=%C3%28', /^optimizers\[0\]\.label: broken percent-encoding/],
    ['a prototype key', '#__proto__=1', /^"__proto__": unknown field/],
    ['an encoded prototype key', '#%5F%5Fproto%5F%5F=%7B%7D', /^"__proto__": unknown field/],
    ['a constructor key', '#constructor=1', /^"constructor": unknown field/],
    ['a prototype hyperparameter', '#opt=sgd:__proto__=1', /^optimizers\[0\]: unknown setting "__proto__"/],
    ['a constructor path', '#opt=sgd:constructor.prototype=1', /^optimizers\[0\]: unknown setting "constructor\.prototype"/],
    ['a prototype optimizer id', '#opt=__proto__:lr=1', /^optimizers\[0\]\.id: unknown optimizer "__proto__"/],
    ['a prototype schedule key', '#opt=sgd:schedule.__proto__=1', /^optimizers\[0\]: unknown setting "schedule\.__proto__"/],
    ['JSON in the hash', '#{"task":"vit-mnist"}', /expected name=value/],
    ['a javascript: URL', '#javascript:alert(1)', /expected name=value/],
    [
      'a megabyte-long hash',
      `#task=${'a'.repeat(1 << 20)}`,
      /^link: the settings are 1048581 characters long, more than the 16384 allowed/,
    ],
  ];

  it.each(cases)('%s: a message naming the field and the default preset', (_name, hash, message) => {
    let read: ReturnType<typeof configFromHash> | undefined;
    expect(() => (read = configFromHash(hash))).not.toThrow();
    if (!read) return;
    expect(read.fromUrl).toBe(false);
    expect(read.config).toEqual(presetConfig(DEFAULT_TASK));
    expect(read.errors.length).toBeGreaterThanOrEqual(2);
    expect(read.errors[0]).toMatch(message);
    expect(read.errors.at(-1)).toMatch(/showing the default experiment/);
    for (const error of read.errors) {
      expect(typeof error).toBe('string');
      expect(error.length).toBeLessThanOrEqual(241);
    }
  });

  it('names each problem once', () => {
    for (const hash of ['#task=resnet', '#steps=abc', '#opt=lbfgs', '#opt=sgd:lr=x', '#target=2']) {
      expect(configFromHash(hash).errors, hash).toHaveLength(2);
    }
  });

  it('never pollutes prototypes', () => {
    for (const hash of ['#__proto__=polluted', '#opt=sgd:__proto__=polluted', '#opt=sgd:constructor.prototype.polluted=1']) {
      configFromHash(hash);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(configFromHash('#opt=sgd:lr=0.1').config.optimizers[0].hyper)).toBe(Object.prototype);
  });

  it('reports every problem of one link, each naming its field', () => {
    const read = configFromHash('#steps=abc&seed=-1&opt=sgd:lr=100&opt=adam:beta1=2');
    expect(read.errors.slice(0, -1)).toEqual([
      'steps: expected a number, got "abc"',
      'seed: -1 is out of range (allowed: 0 to 4294967295)',
      expect.stringMatching(/^optimizers\[0\]\.hyper\.lr: 100 is out of range/),
      expect.stringMatching(/^optimizers\[1\]\.hyper\.beta1: 2 is out of range/),
    ]);
  });

  it('keeps the list short when there are very many problems', () => {
    const hash = `#${Array.from({ length: 50 }, (_, i) => `bogus${i}=1`).join('&')}`;
    const { errors } = configFromHash(hash);
    expect(errors).toHaveLength(12);
    expect(errors[10]).toBe('… and 40 more problems');
  });

  it('quotes only the start of a long hostile value', () => {
    const { errors } = configFromHash(`#steps=${'<script>'.repeat(500)}`);
    expect(errors[0].length).toBeLessThan(120);
  });

  it('survives input that is not a string at all', () => {
    for (const input of [null, undefined, 42, {}, []]) {
      const read = configFromHash(input as unknown as string);
      expect(read.config).toEqual(presetConfig(DEFAULT_TASK));
      expect(read.errors.length).toBeGreaterThan(0);
    }
  });
});
