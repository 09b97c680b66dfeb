// The results table: one row per run, steps and time to the target, ratios to the best first-order
// run, final metrics and speed. A real <table> so screen readers can move by row and column.
import { useId } from 'react';
import { fastestToTarget, type RunSummary } from './summaries.ts';
import { firstOrderBaseline } from '../../engine/lab/report.ts';
import { formatCount, formatLoss, formatPercent, formatRatio, formatSeconds, formatStepsPerSecond, MISSING } from './format.ts';
import './results.css';

export interface ResultsTableProps {
  summaries: readonly RunSummary[];
  /** Validation-accuracy target in [0, 1]; null when none is set. */
  target: number | null;
  /** While the experiment runs, unfinished runs read "Running" instead of "Stopped". */
  running?: boolean;
}

export function ResultsTable({ summaries, target, running = false }: ResultsTableProps) {
  const fastest = fastestToTarget(summaries);
  const id = useId();
  const captionId = `${id}-caption`;
  const noteId = `${id}-note`;
  return (
    <div className="results">
      {/* Outside the scrolling region so it stays readable on a phone while the table scrolls sideways. */}
      <p id={noteId} className="results-note" data-testid="results-note">
        <ResultsNote summaries={summaries} target={target} />
      </p>
      <div className="table-scroll" role="region" aria-labelledby={captionId} tabIndex={0}>
        <table className="results-table" data-testid="results-table" aria-describedby={noteId}>
          <caption id={captionId}>Results per run</caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col" className="num">
                Steps done
              </th>
              <th scope="col" className="num">
                Steps to target
              </th>
              <th scope="col" className="num">
                Time to target
              </th>
              <th scope="col" className="num">
                Steps vs first-order
              </th>
              <th scope="col" className="num">
                Time vs first-order
              </th>
              <th scope="col" className="num">
                Final train loss
              </th>
              <th scope="col" className="num">
                Final val. accuracy
              </th>
              <th scope="col" className="num">
                Speed
              </th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {summaries.map((s, i) => (
              <tr key={i} className={s.error ? 'row-fail' : undefined} data-run={i} data-failed={s.error ? 'true' : undefined}>
                <th scope="row">{s.label}</th>
                <td className="num">
                  {formatCount(s.stepsDone)} / {formatCount(s.totalSteps)}
                </td>
                <td className="num">
                  <Fastest on={fastest.steps.includes(i)}>{formatCount(s.stepsToTarget)}</Fastest>
                </td>
                <td className="num">
                  <Fastest on={fastest.time.includes(i)}>{formatSeconds(s.timeToTargetMs)}</Fastest>
                </td>
                <td className="num">{formatRatio(s.stepsRatio)}</td>
                <td className="num">{formatRatio(s.timeRatio)}</td>
                <td className="num">{formatLoss(s.finalLoss)}</td>
                <td className="num">{formatPercent(s.finalVal)}</td>
                <td className="num">{formatStepsPerSecond(s.stepsPerSecond)}</td>
                <td>
                  <RunStatus summary={s} running={running} />
                </td>
              </tr>
            ))}
            {summaries.length === 0 && (
              <tr>
                <td colSpan={10}>No runs yet: start an experiment to fill this table.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function ResultsNote({ summaries, target }: { summaries: readonly RunSummary[]; target: number | null }) {
  if (target === null) {
    return <>No target is set, so steps and time to target are not measured ({MISSING}).</>;
  }
  const baseline = firstOrderBaseline(summaries);
  return (
    <>
      Target: validation accuracy ≥ {formatPercent(target)}; {MISSING} = not reached.{' '}
      {baseline
        ? `Ratios are to the best first-order (SGD or Adam) run that reached it: ${formatCount(baseline.steps)} steps, ${formatSeconds(baseline.timeMs)}; below 1× is faster.`
        : 'No first-order (SGD or Adam) run has reached the target, so there are no ratios yet.'}
    </>
  );
}

/** The fewest steps / shortest time to target: bold plus a marker that is also read out. */
function Fastest({ on, children }: { on: boolean; children: string }) {
  if (!on) return <>{children}</>;
  return (
    <strong className="fastest">
      <span aria-hidden="true">★ </span>
      {children}
      <span className="visually-hidden"> (fastest)</span>
    </strong>
  );
}

function RunStatus({ summary, running }: { summary: RunSummary; running: boolean }) {
  if (summary.error) {
    return (
      <span className="fail error-message" data-testid="run-error">
        Stopped: {summary.error}
      </span>
    );
  }
  if (summary.stepsDone >= summary.totalSteps) return <>Finished</>;
  if (running) return <>Running</>;
  return summary.stepsDone === 0 ? <>Not started</> : <>Stopped at step {formatCount(summary.stepsDone)}</>;
}
