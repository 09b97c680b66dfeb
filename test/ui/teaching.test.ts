// The teaching text: every task has its weight-sharing description in the setting the engine uses,
// the quoted benchmark matches the recorded one, and the explainer and its drawing render for every
// task with an accessible name and description (server-side rendering: no DOM needed).
import { readFileSync } from 'node:fs';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { TASK_IDS, TASKS } from '../../src/engine/lab/tasks.ts';
import { FACTOR_BENCH, taskSharing } from '../../src/ui/teaching/sharing.ts';
import { Explainer } from '../../src/ui/teaching/Explainer.tsx';
import { SharingDiagram } from '../../src/ui/teaching/SharingDiagram.tsx';

// React reports misuse (e.g. a <title> with several children) through console.error: fail on it.
let consoleError: MockInstance;
beforeEach(() => {
  consoleError = vi.spyOn(console, 'error');
});
afterEach(() => {
  expect(consoleError).not.toHaveBeenCalled();
  consoleError.mockRestore();
});

describe('taskSharing', () => {
  it.each(TASK_IDS)('%s: the setting agrees with the task definition', (task) => {
    const s = taskSharing(task);
    if (s.dim === null) {
      // No sharing: the two approximations coincide, whatever the task calls its setting.
      expect(s.setting).toBe('none');
      expect(s.drawnRows.every((r) => r === 1)).toBe(true);
    } else {
      expect(s.setting).toBe(TASKS[task].setting);
      expect(s.rLabel).toContain(s.dim);
      expect(Math.max(...s.drawnRows)).toBeGreaterThan(1);
    }
    expect(s.rLabel).toMatch(/^R = /);
    expect(s.drawnRows.length).toBeGreaterThan(0);
  });

  it('quotes the recorded factor benchmark', () => {
    const recorded = JSON.parse(readFileSync('bench/results/kfac.json', 'utf8')) as {
      device: string;
      factorTimes: { R: number; expandMs: number; reduceMs: number }[];
    };
    const at = (r: number) => recorded.factorTimes.find((f) => f.R === r)!;
    expect(recorded.device).toMatch(/swiftshader/i);
    expect([at(FACTOR_BENCH.fromR).expandMs, at(FACTOR_BENCH.toR).expandMs]).toEqual(FACTOR_BENCH.expandMs);
    expect([at(FACTOR_BENCH.fromR).reduceMs, at(FACTOR_BENCH.toR).reduceMs]).toEqual(FACTOR_BENCH.reduceMs);
  });
});

describe('Explainer', () => {
  it.each(TASK_IDS)('%s: renders three collapsed sections and a labelled drawing', (task) => {
    const html = renderToStaticMarkup(createElement(Explainer, { task }));
    expect(html.match(/<details>/g)).toHaveLength(3);
    expect(html).not.toMatch(/<details open/);
    expect(html).toContain(`In ${TASKS[task].title.replace(/&/g, '&amp;')}`);
    expect(html).not.toMatch(/undefined|NaN|\[object/);
    expect(html).toContain('G ⊗ A');
    expect(html).toContain(taskSharing(task).rLabel);
  });

  it('names the setting of each task', () => {
    expect(renderToStaticMarkup(createElement(Explainer, { task: 'vit-mnist' }))).toContain('reduce setting');
    expect(renderToStaticMarkup(createElement(Explainer, { task: 'transformer-modular' }))).toContain('expand setting');
    expect(renderToStaticMarkup(createElement(Explainer, { task: 'mlp-spirals' }))).toContain('no sharing');
  });
});

describe('SharingDiagram', () => {
  it.each(TASK_IDS)('%s: an img with title and description, one cell per drawn position, N·R and N rows', (task) => {
    const sharing = taskSharing(task);
    const html = renderToStaticMarkup(createElement(SharingDiagram, { sharing, taskTitle: TASKS[task].title }));
    expect(html).toMatch(/^<svg[^>]*role="img"/);
    const labelledBy = html.match(/aria-labelledby="([^"]+)"/)![1].split(' ');
    expect(labelledBy).toHaveLength(2);
    expect(html).toContain(`<title id="${labelledBy[0]}">`);
    expect(html).toContain(`<desc id="${labelledBy[1]}">`);
    const total = sharing.drawnRows.reduce((a, b) => a + b, 0);
    expect(html.match(/class="sd-cell[ "]/g)).toHaveLength(total);
    expect(html.match(/class="sd-bar"/g)).toHaveLength(total);
    expect(html.match(/class="sd-bar sd-bar-reduced"/g)).toHaveLength(sharing.drawnRows.length);
    expect(html).not.toMatch(/NaN|undefined|Infinity/);
  });
});
