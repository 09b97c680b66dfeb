// The results table's markup, rendered on the server (no DOM): a captioned table with scoped headers,
// dashes where the target was not reached, the fastest marked, a failed run's message in its row.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ResultsTable } from '../../src/ui/results/ResultsTable.tsx';
import type { RunSummary } from '../../src/ui/results/summaries.ts';

const row = (over: Partial<RunSummary>): RunSummary => ({
  label: 'Adam',
  optimizer: 'adam',
  stepsDone: 300,
  totalSteps: 300,
  finalLoss: 0.2,
  finalVal: 0.9,
  stepsToTarget: null,
  timeToTargetMs: null,
  stepsRatio: null,
  timeRatio: null,
  stepsPerSecond: 30,
  error: null,
  ...over,
});

const summaries = [
  row({ label: 'SGD', optimizer: 'sgd' }),
  row({ stepsToTarget: 175, timeToTargetMs: 5600, stepsRatio: 1, timeRatio: 1 }),
  row({ label: 'K-FAC-expand', optimizer: 'kfac-expand', stepsDone: 37, finalLoss: NaN, error: 'loss became <b>NaN</b> at step 37' }),
  row({
    label: 'K-FAC-reduce',
    optimizer: 'kfac-reduce',
    stepsToTarget: 100,
    timeToTargetMs: 4800,
    stepsRatio: 100 / 175,
    timeRatio: 4800 / 5600,
  }),
];

function render(props: Parameters<typeof ResultsTable>[0]): string {
  return renderToStaticMarkup(createElement(ResultsTable, props));
}

function rows(html: string): string[] {
  return html.split('<tr').slice(2); // after the header row
}

describe('ResultsTable', () => {
  const html = render({ summaries, target: 0.85 });

  it('is a captioned table with column and row headers', () => {
    expect(html).toMatch(/<caption[^>]*>Results per run<\/caption>/);
    expect(html.match(/<th scope="col"/g)).toHaveLength(10);
    expect(html.match(/<th scope="row">/g)).toHaveLength(4);
    expect(html).toContain('validation accuracy ≥ 85.0 %');
    expect(html).toContain('175 steps, 5.60 s');
  });

  it('shows dashes where the target was not reached and units elsewhere', () => {
    const sgd = rows(html)[0];
    expect(sgd.match(/>—</g)!.length).toBe(4);
    expect(rows(html)[3]).toContain('0.57×');
    expect(rows(html)[3]).toContain('4.80 s');
    expect(rows(html)[3]).toContain('90.0 %');
    expect(rows(html)[3]).toContain('30.0/s');
  });

  it('marks the fastest to target, readable by screen readers too', () => {
    const reduce = rows(html)[3];
    expect(reduce.match(/class="fastest"/g)).toHaveLength(2);
    expect(reduce.match(/\(fastest\)/g)).toHaveLength(2);
    expect(rows(html)[1]).not.toContain('fastest');
  });

  it('marks a failed run with its message, escaped, and its partial numbers', () => {
    const failed = rows(html)[2];
    expect(failed).toContain('class="row-fail"');
    expect(failed).toContain('Stopped: loss became &lt;b&gt;NaN&lt;/b&gt; at step 37');
    expect(failed).toContain('37 / 300');
    expect(failed).toContain('>NaN<');
    expect(html).not.toContain('<b>');
  });

  it('says when there is no target or no first-order baseline', () => {
    expect(render({ summaries, target: null })).toContain('No target is set');
    expect(render({ summaries: [summaries[3]], target: 0.85 })).toContain('No first-order (SGD or Adam) run has reached the target');
  });

  it('says whether an unfinished run is running or stopped', () => {
    const partial = [row({ stepsDone: 12 })];
    expect(render({ summaries: partial, target: null, running: true })).toContain('Running');
    expect(render({ summaries: partial, target: null })).toContain('Stopped at step 12');
    expect(render({ summaries: [], target: null })).toContain('No runs yet');
  });
});
