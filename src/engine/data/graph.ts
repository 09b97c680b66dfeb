// Undirected graphs as the data sets hand them out, and the GCN propagation matrix.
//
// Edge lists are Int32Array [E, 2] (flattened) with u < v in each row, rows sorted, no duplicates
// and NO self-loops: A has a zero diagonal. The self-loops GCN needs are added by
// `normalizedAdjacency`, which returns Â = D̃^{-1/2} (A + I) D̃^{-1/2} (D̃ = degree + 1) as COO
// entries sorted by row, so (Â H)_v = Σ_{e: rows[e] = v} weights[e] · H[cols[e]] — one gather of
// H by `cols` and one scatter-add into `rows`. Â is symmetric and stores both (u, v) and (v, u).
import { DataError } from './common.ts';

export interface UndirectedGraph {
  numNodes: number;
  /** [numEdges, 2] flattened; u < v per row, rows sorted lexicographically, unique, no self-loops. */
  edges: Int32Array;
}

/** A sparse square matrix in COO form, entries sorted by (row, col), with CSR row offsets. */
export interface SparseAdjacency {
  numNodes: number;
  rows: Int32Array;
  cols: Int32Array;
  weights: Float32Array;
  /** rowOffsets[v]..rowOffsets[v+1] are row v's entries (length numNodes + 1). */
  rowOffsets: Int32Array;
}

export function numEdges(graph: UndirectedGraph): number {
  return graph.edges.length / 2;
}

/**
 * Canonical edge list from any list of node pairs [u0, v0, u1, v1, ...]: each pair as (min, max),
 * self-loops dropped, duplicates removed, sorted.
 */
export function canonicalEdges(numNodes: number, pairs: ArrayLike<number>): Int32Array {
  if (pairs.length % 2) throw new DataError(`canonicalEdges: pair list has odd length ${pairs.length}`);
  const keys: number[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const a = pairs[i];
    const b = pairs[i + 1];
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= numNodes || b >= numNodes) {
      throw new DataError(`canonicalEdges: edge (${a}, ${b}) has a node outside [0, ${numNodes})`);
    }
    if (a !== b) keys.push(Math.min(a, b) * numNodes + Math.max(a, b));
  }
  const sorted = Float64Array.from(keys).sort();
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1]) continue;
    out.push(Math.floor(sorted[i] / numNodes), sorted[i] % numNodes);
  }
  return Int32Array.from(out);
}

/** Degree of every node (self-loops excluded). */
export function degrees(graph: UndirectedGraph): Int32Array {
  const deg = new Int32Array(graph.numNodes);
  for (let i = 0; i < graph.edges.length; i++) deg[graph.edges[i]]++;
  return deg;
}

/** Neighbour lists in CSR form: neighbors[offsets[v]..offsets[v+1]] sorted ascending. */
export function adjacencyLists(graph: UndirectedGraph): { offsets: Int32Array; neighbors: Int32Array } {
  const deg = degrees(graph);
  const offsets = new Int32Array(graph.numNodes + 1);
  for (let v = 0; v < graph.numNodes; v++) offsets[v + 1] = offsets[v] + deg[v];
  const neighbors = new Int32Array(offsets[graph.numNodes]);
  const fill = offsets.slice(0, graph.numNodes);
  for (let e = 0; e < graph.edges.length; e += 2) {
    const u = graph.edges[e];
    const v = graph.edges[e + 1];
    neighbors[fill[u]++] = v;
    neighbors[fill[v]++] = u;
  }
  for (let v = 0; v < graph.numNodes; v++) neighbors.subarray(offsets[v], offsets[v + 1]).sort();
  return { offsets, neighbors };
}

/** Â = D̃^{-1/2}(A + I)D̃^{-1/2} in COO/CSR form (see the top of this file). */
export function normalizedAdjacency(graph: UndirectedGraph): SparseAdjacency {
  const n = graph.numNodes;
  const { offsets, neighbors } = adjacencyLists(graph);
  const invSqrtDeg = new Float64Array(n);
  for (let v = 0; v < n; v++) invSqrtDeg[v] = 1 / Math.sqrt(offsets[v + 1] - offsets[v] + 1);
  const nnz = neighbors.length + n;
  const rows = new Int32Array(nnz);
  const cols = new Int32Array(nnz);
  const weights = new Float32Array(nnz);
  const rowOffsets = new Int32Array(n + 1);
  let e = 0;
  for (let v = 0; v < n; v++) {
    rowOffsets[v] = e;
    let selfDone = false;
    for (let k = offsets[v]; k <= offsets[v + 1]; k++) {
      // Merge the self-loop into the sorted neighbour list so columns stay ascending.
      const u = k < offsets[v + 1] ? neighbors[k] : -1;
      if (!selfDone && (u < 0 || u > v)) {
        rows[e] = v;
        cols[e] = v;
        weights[e++] = invSqrtDeg[v] * invSqrtDeg[v];
        selfDone = true;
      }
      if (u >= 0) {
        rows[e] = v;
        cols[e] = u;
        weights[e++] = invSqrtDeg[v] * invSqrtDeg[u];
      }
    }
  }
  rowOffsets[n] = e;
  return { numNodes: n, rows, cols, weights, rowOffsets };
}

/** Edge homophily: the fraction of edges whose two ends share a label. */
export function edgeHomophily(graph: UndirectedGraph, labels: ArrayLike<number>): number {
  const m = numEdges(graph);
  if (m === 0) return Number.NaN;
  let same = 0;
  for (let e = 0; e < graph.edges.length; e += 2) if (labels[graph.edges[e]] === labels[graph.edges[e + 1]]) same++;
  return same / m;
}
