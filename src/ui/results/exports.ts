// Results as files the user keeps: the lab JSON (config, device, every run's history) and the CSV
// of (run, step) rows, in the same formats as the CLI (src/engine/lab/report.ts).
import { labCsv, type LabJson } from '../../engine/lab/report.ts';
import type { ExperimentResult } from '../../engine/lab/results.ts';

/** A file-name-safe UTC timestamp: 2026-11-28T00-50-26Z (no colons, which Windows refuses). */
export function fileTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
}

/** kfac-lab-<task>-<timestamp>.<ext>; the task is reduced to [a-z0-9-] (saved data may be anything). */
export function labFilename(task: string, ext: 'json' | 'csv', date: Date = new Date()): string {
  const safeTask =
    task
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'experiment';
  return `kfac-lab-${safeTask}-${fileTimestamp(date)}.${ext}`;
}

export function downloadText(filename: string, text: string, mime: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.style.display = 'none';
  document.body.append(link);
  try {
    link.click();
  } finally {
    link.remove();
    // Revoking at once can cancel the download in some browsers (Firefox); a second later it has started.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}

/** JSON.stringify writes NaN and ±Infinity (a diverged loss) as null: the JSON says null there. */
export function labJsonText(doc: LabJson): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export function exportJson(doc: LabJson, date: Date = new Date()): void {
  downloadText(labFilename(doc.config.task, 'json', date), labJsonText(doc), 'application/json');
}

export function exportCsv(result: ExperimentResult, date: Date = new Date()): void {
  downloadText(labFilename(result.config.task, 'csv', date), labCsv(result), 'text/csv');
}
