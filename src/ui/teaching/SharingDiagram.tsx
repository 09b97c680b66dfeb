// A drawing of a layer input [N, R, dIn] for the chosen task: N examples, each with its R shared
// positions (highlighted), and the two ways K-FAC turns them into rows of the input factor A:
// expand keeps all N·R position vectors, reduce averages each example's R vectors into one.
import { useId } from 'react';
import type { TaskSharing } from './sharing.ts';

const CELL = 18;
const CELL_GAP = 4;
const ROW_GAP = 12;
const BAR_WIDTH = 56;
const BAR_HEIGHT = 5;
const BAR_GAP = 2;

export function SharingDiagram({ sharing, taskTitle }: { sharing: TaskSharing; taskTitle: string }) {
  const id = useId();
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  const rows = sharing.drawnRows;
  const maxCells = Math.max(...rows);
  const totalCells = rows.reduce((a, b) => a + b, 0);

  // Input tensor on the left.
  const tensorX = 44;
  const tensorY = 52;
  const cellsWidth = maxCells * (CELL + CELL_GAP) - CELL_GAP;
  const ellipsisWidth = sharing.truncated ? 18 : 0;
  const tensorRight = tensorX + cellsWidth + ellipsisWidth;
  const tensorHeight = rows.length * (CELL + ROW_GAP) - ROW_GAP;
  const rowY = (i: number) => tensorY + i * (CELL + ROW_GAP);

  // The two results on the right: expand on top, reduce below.
  const columnX = Math.max(tensorRight + 90, 250);
  const expandY = 34;
  const expandHeight = totalCells * (BAR_HEIGHT + BAR_GAP) - BAR_GAP;
  const reduceY = expandY + expandHeight + 52;
  const reduceHeight = rows.length * (BAR_HEIGHT + BAR_GAP) - BAR_GAP;
  // The two side labels need about 24 px, however few bars there are.
  const expandMid = expandY + Math.max(expandHeight, 24) / 2;
  const reduceMid = reduceY + Math.max(reduceHeight, 24) / 2;
  const width = columnX + BAR_WIDTH + 150;
  const height = Math.max(reduceY + Math.max(reduceHeight, 24), tensorY + tensorHeight) + 36;
  const arrowFromX = tensorRight + 8;
  const arrowFromY = tensorY + tensorHeight / 2;

  const shared = sharing.dim ?? 'shared positions';
  const description =
    sharing.setting === 'none'
      ? `The layer input of ${taskTitle} has shape N × R × dIn with ${sharing.nLabel} and R = 1: every example has one input vector, so expand and reduce both give the same N rows of the input factor A.`
      : `The layer input of ${taskTitle} has shape N × R × dIn: ${sharing.nLabel}, each with ${sharing.rLabel} that share the weights. Expand makes every one of the N·R ${shared} a row of the input factor A; reduce first averages each example's R vectors, so A is built from N rows.`;

  return (
    <svg
      className="sharing-diagram"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-labelledby={`${titleId} ${descId}`}
      data-testid="sharing-diagram"
    >
      <title id={titleId}>{`Weight sharing in ${taskTitle}: expand vs reduce`}</title>
      <desc id={descId}>{description}</desc>
      <defs>
        <marker id={`${id}-arrow`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" className="sd-arrowhead" />
        </marker>
      </defs>

      {/* R: the shared dimension, bracketed above the first example. */}
      <text x={tensorX} y={tensorY - 22} className="sd-label sd-shared">
        {sharing.rLabel}
      </text>
      <path
        d={`M ${tensorX} ${tensorY - 8} v -6 H ${tensorRight} v 6`}
        className="sd-bracket sd-shared-stroke"
        fill="none"
        aria-hidden="true"
      />
      {/* N: the examples, labelled along the left side. */}
      <text
        x={tensorX - 14}
        y={tensorY + tensorHeight / 2}
        className="sd-label"
        textAnchor="middle"
        transform={`rotate(-90 ${tensorX - 14} ${tensorY + tensorHeight / 2})`}
      >
        {sharing.nLabel}
      </text>

      {rows.map((cells, i) => (
        <g key={i}>
          {Array.from({ length: cells }, (_, j) => (
            <rect
              key={j}
              x={tensorX + j * (CELL + CELL_GAP)}
              y={rowY(i)}
              width={CELL}
              height={CELL}
              rx={3}
              className={sharing.setting === 'none' ? 'sd-cell' : 'sd-cell sd-cell-shared'}
            />
          ))}
          {sharing.truncated && (
            <text x={tensorX + cells * (CELL + CELL_GAP)} y={rowY(i) + CELL - 5} className="sd-label">
              …
            </text>
          )}
        </g>
      ))}
      <text x={8} y={height - 8} className="sd-note">
        each square or bar: one vector of length dIn
      </text>

      {/* Expand: every position vector becomes a row. */}
      <path
        d={`M ${arrowFromX} ${arrowFromY} C ${arrowFromX + 40} ${arrowFromY}, ${columnX - 50} ${expandY + expandHeight / 2}, ${columnX - 8} ${expandY + expandHeight / 2}`}
        className="sd-arrow"
        fill="none"
        markerEnd={`url(#${id}-arrow)`}
      />
      <text x={columnX} y={expandY - 10} className="sd-label sd-strong">
        expand
      </text>
      {Array.from({ length: totalCells }, (_, k) => (
        <rect key={k} x={columnX} y={expandY + k * (BAR_HEIGHT + BAR_GAP)} width={BAR_WIDTH} height={BAR_HEIGHT} className="sd-bar" />
      ))}
      <text x={columnX + BAR_WIDTH + 10} y={expandMid - 4} className="sd-label">
        {sharing.setting === 'none' ? 'N·R = N rows' : 'N·R rows'}
      </text>
      <text x={columnX + BAR_WIDTH + 10} y={expandMid + 12} className="sd-note">
        A = mean of a aᵀ
      </text>

      {/* Reduce: one averaged row per example. */}
      <path
        d={`M ${arrowFromX} ${arrowFromY} C ${arrowFromX + 40} ${arrowFromY}, ${columnX - 50} ${reduceY + reduceHeight / 2}, ${columnX - 8} ${reduceY + reduceHeight / 2}`}
        className="sd-arrow"
        fill="none"
        markerEnd={`url(#${id}-arrow)`}
      />
      <text x={columnX} y={reduceY - 10} className="sd-label sd-strong">
        reduce: mean over R
      </text>
      {rows.map((_, k) => (
        <rect
          key={k}
          x={columnX}
          y={reduceY + k * (BAR_HEIGHT + BAR_GAP)}
          width={BAR_WIDTH}
          height={BAR_HEIGHT}
          className="sd-bar sd-bar-reduced"
        />
      ))}
      <text x={columnX + BAR_WIDTH + 10} y={reduceMid - 4} className="sd-label">
        N rows
      </text>
      <text x={columnX + BAR_WIDTH + 10} y={reduceMid + 12} className="sd-note">
        A = mean of â âᵀ
      </text>
    </svg>
  );
}
