// File names and contents of the exports (the download itself needs a browser: e2e).
import { describe, expect, it } from 'vitest';
import { fileTimestamp, labFilename, labJsonText } from '../../src/ui/results/exports.ts';
import { labJson as buildLabJson, resultOfLabJson } from '../../src/engine/lab/report.ts';
import { labCsv, type LabDevice } from '../../src/engine/lab/report.ts';
import { validateConfigOrThrow } from '../../src/engine/lab/experiment-config.ts';
import type { ExperimentResult } from '../../src/engine/lab/results.ts';
import { presetConfig } from '../../src/engine/lab/presets.ts';

const date = new Date(Date.UTC(2026, 10, 28, 0, 50, 26, 160));
const device: LabDevice = { backend: 'webgpu', summary: 'SwiftShader', fallbackReason: null };

function result(): ExperimentResult {
  const config = validateConfigOrThrow({ ...presetConfig('mlp-spirals'), steps: 3, evalInterval: 2 });
  return {
    config,
    parameterCount: 1218,
    stopped: false,
    runs: config.optimizers.map((o, i) => ({
      optimizer: o.id,
      label: o.label,
      hyper: o.hyper,
      history: { step: [1, 2, 3], trainLoss: [0.7, 0.6, i === 2 ? NaN : 0.5], valMetric: [null, 0.6, null], timeMs: [1, 2, 3] },
      stepsToTarget: null,
      timeToTargetMs: null,
      phaseMs: { forward: 1, backward: 1, update: 1 },
      stepsCompleted: 3,
      ...(i === 2 ? { error: 'loss became NaN at step 3' } : {}),
      batchIndices: [new Int32Array([1, 2])],
    })),
  };
}

describe('export file names', () => {
  it('are kfac-lab-<task>-<UTC timestamp>.<ext>, without colons', () => {
    expect(fileTimestamp(date)).toBe('2026-11-28T00-50-26Z');
    expect(labFilename('vit-mnist', 'json', date)).toBe('kfac-lab-vit-mnist-2026-11-28T00-50-26Z.json');
    expect(labFilename('gcn-node', 'csv', date)).toBe('kfac-lab-gcn-node-2026-11-28T00-50-26Z.csv');
  });

  it('reduce an odd task name to safe characters', () => {
    expect(labFilename('../../etc/passwd', 'json', date)).toBe('kfac-lab-etc-passwd-2026-11-28T00-50-26Z.json');
    expect(labFilename('<script>', 'csv', date)).toBe('kfac-lab-script-2026-11-28T00-50-26Z.csv');
    expect(labFilename('', 'csv', date)).toBe('kfac-lab-experiment-2026-11-28T00-50-26Z.csv');
    expect(labFilename('a'.repeat(500), 'csv', date)).toBe(`kfac-lab-${'a'.repeat(40)}-2026-11-28T00-50-26Z.csv`);
  });
});

describe('export contents', () => {
  it('builds the CLI’s lab JSON from the worker’s result and the backend, without batch indices', () => {
    const doc = buildLabJson(result(), device);
    expect(doc.device).toEqual(device);
    expect(doc.parameterCount).toBe(1218);
    expect(doc.runs).toHaveLength(4);
    expect(doc.runs[2].error).toBe('loss became NaN at step 3');
    expect(doc.runs[0].error).toBeNull();
    expect('batchIndices' in doc.runs[0]).toBe(false);
    const parsed = JSON.parse(labJsonText(doc));
    expect(parsed.config.task).toBe('mlp-spirals');
    expect(parsed.runs[2].history.trainLoss).toEqual([0.7, 0.6, null]);
  });

  it('turns a saved lab JSON back into a result whose CSV matches the original', () => {
    const original = result();
    const restored = resultOfLabJson(buildLabJson(original, device));
    expect(labCsv(restored)).toBe(labCsv(original));
    expect(restored.runs[2].error).toBe('loss became NaN at step 3');
    expect('error' in restored.runs[0]).toBe(false);
  });
});
