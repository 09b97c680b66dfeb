// A chart as an accessible figure: caption, live one-line summary, a data-table view and "Save PNG".

import { useId, useState, type CSSProperties, type ReactNode, type RefObject } from 'react';
import { ChartLegend } from './ChartLegend.tsx';
import type { DataTable } from './data-table.ts';
import type { LegendItem } from './legend-items.ts';
import { savePlotPng } from './plotly-loader.ts';
import './charts.css';

export interface ChartFigureProps {
  id: string;
  title: string;
  /** One line saying what the chart shows now; read out politely when it changes (keep it throttled). */
  summary: string;
  /** Builds the table; called only while the table is shown. */
  table: () => DataTable;
  /** The div plotly draws into. */
  plotRef: RefObject<HTMLDivElement | null>;
  /** Plotly has loaded, so a PNG can be made. */
  canSave: boolean;
  /** A load failure to show instead of the plot. */
  error?: string | null;
  /** A short note under the title (e.g. "65×65 shown as 48×48"). */
  note?: ReactNode;
  /** Entries of the HTML legend under the plot. */
  legend?: readonly LegendItem[];
  plotClassName?: string;
  plotStyle?: CSSProperties;
}

export function ChartFigure({
  id,
  title,
  summary,
  table,
  plotRef,
  canSave,
  error,
  note,
  legend = [],
  plotClassName,
  plotStyle,
}: ChartFigureProps) {
  const [tableOpen, setTableOpen] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const uid = useId();
  const titleId = `${uid}-title`;
  const tableId = `${uid}-table`;

  const save = async () => {
    const div = plotRef.current;
    if (div === null) return;
    setSaving(true);
    setSaveError(null);
    try {
      await savePlotPng(div, title);
    } catch (e) {
      setSaveError(`Could not save the PNG: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setSaving(false);
    }
  };

  const data = tableOpen ? table() : null;
  return (
    <figure className="chart-figure" id={id} aria-labelledby={titleId}>
      <figcaption id={titleId} className="chart-title">
        {title}
      </figcaption>
      {note !== undefined && <p className="chart-note">{note}</p>}
      {error ? (
        <p className="chart-error" role="alert">
          {error}
        </p>
      ) : null}
      <div
        ref={plotRef}
        className={`chart-plot${plotClassName ? ` ${plotClassName}` : ''}`}
        style={plotStyle}
        role="img"
        aria-label={`${title}: chart. Its summary follows; the data table lists its values.`}
        hidden={Boolean(error)}
      />
      <ChartLegend items={legend} />
      <p className="chart-summary" aria-live="polite">
        {summary}
      </p>
      <div className="chart-actions">
        <button
          type="button"
          className="chart-button"
          aria-expanded={tableOpen}
          aria-controls={tableId}
          aria-describedby={titleId}
          onClick={() => setTableOpen((open) => !open)}
        >
          {tableOpen ? 'Hide data table' : 'Show data table'}
        </button>
        <button
          type="button"
          className="chart-button"
          aria-describedby={titleId}
          disabled={!canSave || saving || Boolean(error)}
          onClick={() => void save()}
        >
          {saving ? 'Saving…' : 'Save PNG'}
        </button>
      </div>
      {saveError !== null && (
        <p className="chart-error" role="alert">
          {saveError}
        </p>
      )}
      <div id={tableId} className="chart-table-wrap" hidden={!tableOpen}>
        {data !== null && <ChartTable table={data} />}
      </div>
    </figure>
  );
}

/** A data table as an accessible HTML table (the first column heads each row), with its note. */
export function ChartTable({ table, testId }: { table: DataTable; testId?: string }) {
  return (
    <>
      {/* Focusable so keyboard users can scroll a wide or long table. */}
      <div className="chart-table-scroll" tabIndex={0} role="region" aria-label={table.caption}>
        <table className="chart-table" data-testid={testId}>
          <caption>{table.caption}</caption>
          <thead>
            <tr>
              {table.columns.map((column, i) => (
                <th key={i} scope="col">
                  {column}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row, r) => (
              <tr key={r}>
                {row.map((cell, c) =>
                  c === 0 ? (
                    <th key={c} scope="row">
                      {cell}
                    </th>
                  ) : (
                    <td key={c}>{cell}</td>
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {table.note !== undefined && <p className="chart-note">{table.note}</p>}
    </>
  );
}
