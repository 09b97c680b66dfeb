// The saved-results validator (pure; the real IndexedDB is exercised by the e2e tests) and the
// storage functions' never-throw promise where IndexedDB is missing (as in Node).
import { describe, expect, it, vi } from 'vitest';
import {
  loadLastResults,
  parseSavedResults,
  saveLastResults,
  STORED_VERSION,
  toStoredRecord,
  type SavedResults,
} from '../../src/ui/persistence.ts';
import { labJson, type LabJson } from '../../src/engine/lab/report.ts';
import { validateConfigOrThrow } from '../../src/engine/lab/experiment-config.ts';
import { presetConfig } from '../../src/engine/lab/presets.ts';

function saved(): SavedResults {
  const config = validateConfigOrThrow(presetConfig('vit-mnist'));
  const doc: LabJson = labJson(
    {
      config,
      parameterCount: 27_498,
      stopped: false,
      runs: config.optimizers.map((o, i) => ({
        optimizer: o.id,
        label: o.label,
        hyper: o.hyper,
        history: { step: [1, 2], trainLoss: [2.3, i === 3 ? NaN : 2.1], valMetric: [null, 0.4], timeMs: [10, 20] },
        stepsToTarget: i === 1 ? 2 : null,
        timeToTargetMs: i === 1 ? 20 : null,
        phaseMs: { forward: 5, backward: 5 },
        stepsCompleted: 2,
        ...(i === 3 ? { error: 'loss became NaN at step 2 — try more damping' } : {}),
      })),
    },
    { backend: 'cpu', summary: 'CPU (TypeScript)', fallbackReason: 'no adapter' },
  );
  return { savedAt: '2026-11-28T00:50:26.160Z', hash: '#cfg=abc', doc };
}

/** A deep copy through structured clone (what IndexedDB stores), then `edit` applied to it. */
// Corrupting arbitrary nested fields is what these tests do: the record is deliberately untyped.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Untyped = any;
function stored(edit: (record: Untyped) => void = () => {}): unknown {
  const record: Untyped = structuredClone(toStoredRecord(saved()));
  edit(record);
  return record;
}

describe('parseSavedResults', () => {
  it('accepts a record as saved, NaN losses and failed runs included', () => {
    const out = parseSavedResults(stored());
    expect(out).not.toBeNull();
    expect(out!.hash).toBe('#cfg=abc');
    expect(out!.savedAt).toBe('2026-11-28T00:50:26.160Z');
    expect(out!.doc.config).toEqual(saved().doc.config);
    expect(out!.doc.runs[3].history.trainLoss[1]).toBeNaN();
    expect(out!.doc.runs[3].error).toMatch(/NaN at step 2/);
    expect(out!.doc.runs[1].stepsToTarget).toBe(2);
    expect(out!.doc.device.fallbackReason).toBe('no adapter');
  });

  it('accepts an empty hash', () => {
    expect(parseSavedResults(stored((r) => (r.hash = '')))).not.toBeNull();
  });

  it.each<[string, unknown]>([
    ['undefined (nothing saved)', undefined],
    ['null', null],
    ['a string', 'hello'],
    ['an array', [1, 2]],
    ['another version', stored((r) => (r.version = STORED_VERSION + 1))],
    ['no version (older lab)', stored((r) => delete r.version)],
    ['a bad date', stored((r) => (r.savedAt = 'yesterday'))],
    ['a hash that is not one', stored((r) => (r.hash = 'javascript:alert(1)'))],
    ['a huge hash', stored((r) => (r.hash = `#${'x'.repeat(20_000)}`))],
    ['no doc', stored((r) => delete r.doc)],
    ['an invalid config', stored((r) => (r.doc.config.task = 'no-such-task'))],
    ['a config with an unknown hyperparameter', stored((r) => (r.doc.config.optimizers[0].hyper.bogus = 1))],
    ['a device without summary', stored((r) => delete r.doc.device.summary)],
    ['a negative parameter count', stored((r) => (r.doc.parameterCount = -1))],
    ['runs not matching the config', stored((r) => r.doc.runs.pop())],
    ['an unknown optimizer', stored((r) => (r.doc.runs[0].optimizer = 'lbfgs'))],
    ['a label that is not text', stored((r) => (r.doc.runs[0].label = { html: '<b>' }))],
    ['histories of different lengths', stored((r) => r.doc.runs[0].history.timeMs.pop())],
    ['a string in a history', stored((r) => (r.doc.runs[0].history.step[0] = '1'))],
    ['a NaN validation value', stored((r) => (r.doc.runs[0].history.valMetric[1] = NaN))],
    ['a fractional steps-to-target', stored((r) => (r.doc.runs[1].stepsToTarget = 1.5))],
    ['a missing error field', stored((r) => delete r.doc.runs[0].error)],
    ['an object hyperparameter', stored((r) => (r.doc.runs[0].hyper.lr = { x: 1 }))],
    ['a phase time that is not a number', stored((r) => (r.doc.runs[0].phaseMs.forward = 'fast'))],
  ])('returns null for %s', (_what, value) => {
    expect(parseSavedResults(value)).toBeNull();
  });

  it('never throws, even on hostile objects', () => {
    const hostile = stored();
    Object.defineProperty(hostile, 'doc', {
      get() {
        throw new Error('gotcha');
      },
    });
    expect(parseSavedResults(hostile)).toBeNull();
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('gotcha');
        },
      },
    );
    expect(parseSavedResults(proxy)).toBeNull();
  });
});

describe('storage without IndexedDB (Node, some private windows)', () => {
  it('load gives null and save a clear reason, neither throws', async () => {
    expect(typeof indexedDB).toBe('undefined');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await expect(loadLastResults()).resolves.toBeNull();
      const outcome = await saveLastResults(saved());
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(outcome.reason).toMatch(/IndexedDB is not available/);
      expect(warn).toHaveBeenCalledOnce();
    } finally {
      warn.mockRestore();
    }
  });
});
