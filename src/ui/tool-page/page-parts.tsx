// Pieces the lab's tool pages share (Curvature, Pruning, Memorisation, Thermodynamic, NGD …): a labelled
// number input, a job's progress bar (role="progressbar"), and a plotly figure inside the accessible ChartFigure.
import { useCallback, useId, useMemo, type ReactNode } from 'react';
import { ChartFigure } from '../charts/ChartFigure.tsx';
import { formatValue, type DataTable } from '../charts/data-table.ts';
import type { LegendItem } from '../charts/legend-items.ts';
import type { PlotFigure } from '../charts/plotly-text.ts';
import { usePlot } from '../charts/use-plot.ts';
import type { JobView } from '../pages/curvature/curvature-store.ts';

export function NumberField(props: {
  label: string;
  value: number;
  min: number;
  max: number;
  step?: number | 'any';
  integer?: boolean;
  disabled: boolean;
  onChange: (v: number) => void;
  testId: string;
  help?: string;
}) {
  const id = useId();
  const integer = props.integer ?? true;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="number"
        inputMode={integer ? 'numeric' : 'decimal'}
        min={props.min}
        max={props.max}
        step={props.step ?? (integer ? 1 : 'any')}
        value={props.value}
        disabled={props.disabled}
        data-testid={props.testId}
        aria-describedby={props.help ? `${id}-help` : undefined}
        onChange={(e) => {
          const v = Number(e.currentTarget.value);
          if (Number.isFinite(v) && (!integer || Number.isInteger(v)) && v >= props.min && v <= props.max) props.onChange(v);
        }}
      />
      {props.help && (
        <p className="field-help" id={`${id}-help`}>
          {props.help}
        </p>
      )}
    </div>
  );
}

/** What a progress bar reads of a job; every page's job view has these fields. */
export type ProgressJobView = Pick<JobView, 'status' | 'progress' | 'elapsedMs' | 'error'>;

export function JobProgressBar({
  job,
  label,
  testId,
  ariaLabel,
  children,
}: {
  job: ProgressJobView;
  label: string;
  testId: string;
  /** The bar's accessible name; `${label} progress` unless given. */
  ariaLabel?: string;
  /** Shown under the bar (e.g. the failure as an alert). */
  children?: ReactNode;
}) {
  const p = job.progress;
  const total = p && p.total > 0 ? p.total : 1;
  const done = p ? Math.min(p.done, total) : 0;
  const loss = p?.values?.loss;
  const text =
    job.status === 'running'
      ? `${p?.stage ?? 'starting'}: ${done} / ${total}${loss !== undefined ? `, loss ${formatValue(loss)}` : ''}`
      : job.status === 'done'
        ? `done in ${((job.elapsedMs ?? 0) / 1000).toFixed(1)} s`
        : job.status === 'cancelled'
          ? 'cancelled'
          : `failed: ${job.error ?? ''}`;
  return (
    <div className="job-progress" data-testid={testId} data-status={job.status}>
      <div className="job-progress-head">
        <strong>{label}</strong> <span>{text}</span>
      </div>
      <div
        role="progressbar"
        aria-label={ariaLabel ?? `${label} progress`}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
        aria-valuetext={text}
        className="bar"
      >
        <div className="bar-fill" style={{ width: `${job.status === 'done' ? 100 : (100 * done) / total}%` }} />
      </div>
      {children}
    </div>
  );
}

/** A figure drawn from `build(input)` (rebuilt when `input` changes), with its table and summary. */
export function Figure<T>(props: {
  id: string;
  title: string;
  input: T;
  build: (input: T) => PlotFigure;
  table: (input: T) => DataTable;
  summary: string;
  note?: string;
  legend?: readonly LegendItem[];
}) {
  const { input, build } = props;
  const plot = usePlot(useCallback(() => build(input), [build, input]));
  const table = useMemo(() => () => props.table(input), [props, input]);
  return (
    <ChartFigure
      id={props.id}
      title={props.title}
      note={props.note}
      summary={props.summary}
      table={table}
      legend={props.legend}
      plotRef={plot.ref}
      canSave={plot.ready}
      error={plot.error}
    />
  );
}
