// The results table (live while training, then final), the exports, and a note when the figures
// are restored from the last visit.
import { useMemo } from 'react';
import { metricSeries, useLabUi } from '../lab/lab-store.ts';
import { summarize } from '../results/summaries.ts';
import { ResultsTable } from '../results/ResultsTable.tsx';
import { exportCsv, exportJson } from '../results/exports.ts';
import { resultOfLabJson } from '../../engine/lab/report.ts';

export function ResultsSection() {
  const runs = useLabUi((s) => s.runs);
  const progress = useLabUi((s) => s.progress);
  const resolved = useLabUi((s) => s.resolved);
  const status = useLabUi((s) => s.status);
  const restored = useLabUi((s) => s.restored);
  const result = useLabUi((s) => s.result);
  const resultsDoc = useLabUi((s) => s.resultsDoc);
  const target = resolved?.target?.value ?? null;
  // progress changes a few times a second while training: the table follows it.
  const summaries = useMemo(
    () =>
      summarize({
        runs,
        series: (i) => metricSeries.series(i),
        target,
        totalSteps: resolved?.steps ?? 0,
        errors: progress.map((p) => p.error),
      }),
    [runs, progress, target, resolved],
  );
  if (runs.length === 0) return null;
  const doc = result || restored ? resultsDoc() : null;
  return (
    <section className="card" aria-labelledby="results-heading" data-testid="results">
      <h2 id="results-heading">Results</h2>
      {restored && !result && (
        <p className="notice notice-ok" data-testid="restored-note">
          Restored from your last visit ({new Date(restored.savedAt).toLocaleString()}): {restored.doc.config.task},{' '}
          {restored.doc.runs.length} runs on {restored.doc.device.summary}.
        </p>
      )}
      <ResultsTable summaries={summaries} target={target} running={status === 'running' || status === 'paused'} />
      <div className="button-row">
        <button type="button" disabled={!doc} onClick={() => doc && exportJson(doc)} data-testid="export-json">
          Export JSON
        </button>
        <button type="button" disabled={!doc} onClick={() => doc && exportCsv(result ?? resultOfLabJson(doc))} data-testid="export-csv">
          Export CSV
        </button>
        {!doc && <span className="muted">Exports are ready when the experiment ends.</span>}
      </div>
    </section>
  );
}
