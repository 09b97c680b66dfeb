/**
 * Graph classification: does a small graph contain a "house" (a 4-cycle with a triangle roof on
 * one of its edges: 5 nodes, 6 edges)?
 *
 * Every graph has n nodes, n uniform in [minNodes, maxNodes] (default 10–30): a base graph on
 * n − 5 nodes (a random recursive tree plus `extraEdges` random extra edges, so both classes have
 * cycles; redrawn if it contains a house by chance) and a 5-node, 6-edge block joined to the base
 * by one bridge edge at random ends. Label 1: the block is a house. Label 0: the block is a
 * house-free decoy with the same node and edge count — K_{2,3} (also degree sequence 3,3,2,2,2),
 * a bowtie, or a diamond with a pendant — so both classes have identical node counts, edge counts
 * and mean degree, and the labels cannot be read off the size. A bridge lies on no cycle and a
 * house has every edge on a cycle, so the label equals house presence exactly (`containsHouse`
 * checks it). Node ids are shuffled, so the block is anywhere.
 *
 * Node features: one-hot degree, bins 0..maxDegree (the last bin holds every larger degree), or a
 * single constant 1. Edges come without self-loops (graph.ts). Labels alternate (graph i has label
 * i mod 2, so classes are balanced), graph i is a pure function of (seed, i), and the split is
 * fixed and stratified by label (defaults 70% train, 15% validation, 15% test).
 *
 * `batchGraphs` packs B graphs into one block-diagonal graph for a GCN: node features stacked,
 * edges offset, Â built per block, and `graphIndex[v]` = which graph node v came from, for pooling.
 */
import { DataError, permutation, requireInt, requireNumber, requireSeed, splitByClass, streamRng } from './common.ts';
import { adjacencyLists, canonicalEdges, degrees, normalizedAdjacency, type SparseAdjacency, type UndirectedGraph } from './graph.ts';
import type { Rng } from '../random.ts';

export type NodeFeatureKind = 'degree' | 'constant';

export interface MotifGraphOptions {
  seed: number;
  /** Total number of graphs over all splits (default 1000). */
  numGraphs?: number;
  minNodes?: number;
  maxNodes?: number;
  /** Random edges added to the base tree (default 2). */
  extraEdges?: number;
  features?: NodeFeatureKind;
  /** Highest degree with its own one-hot bin (default 6). */
  maxDegree?: number;
  trainFraction?: number;
  valFraction?: number;
}

export interface SmallGraph extends UndirectedGraph {
  /** 1: contains a house; 0: does not. */
  label: number;
  /** [numNodes, featureDim] row-major. */
  features: Float32Array;
}

export interface MotifGraphSet {
  train: SmallGraph[];
  val: SmallGraph[];
  test: SmallGraph[];
  featureDim: number;
  numClasses: 2;
  motif: 'house';
}

/** The house on local nodes 0..4: square 0-1-2-3, roof 4 on edge 0-1. */
export const HOUSE_EDGES = [0, 1, 1, 2, 2, 3, 3, 0, 0, 4, 1, 4];

/** House-free 5-node, 6-edge connected blocks (negatives). */
export const DECOY_EDGES: Record<string, number[]> = {
  k23: [0, 2, 0, 3, 0, 4, 1, 2, 1, 3, 1, 4],
  bowtie: [0, 1, 0, 2, 1, 2, 0, 3, 0, 4, 3, 4],
  diamondPendantOnDegree2: [0, 1, 0, 2, 1, 2, 1, 3, 2, 3, 0, 4],
  diamondPendantOnDegree3: [0, 1, 0, 2, 1, 2, 1, 3, 2, 3, 1, 4],
};
const DECOYS = Object.values(DECOY_EDGES);
const MOTIF_NODES = 5;

/**
 * Whether the graph has a house as a subgraph (not necessarily induced): an edge a–b, a common
 * neighbour e (the roof) and a path b–c–d–a through two further nodes.
 */
export function containsHouse(graph: UndirectedGraph): boolean {
  const n = graph.numNodes;
  const { offsets, neighbors } = adjacencyLists(graph);
  const adjacent = new Set<number>();
  for (let e = 0; e < graph.edges.length; e += 2) {
    adjacent.add(graph.edges[e] * n + graph.edges[e + 1]);
    adjacent.add(graph.edges[e + 1] * n + graph.edges[e]);
  }
  const nbrs = (v: number) => neighbors.subarray(offsets[v], offsets[v + 1]);
  for (let k = 0; k < graph.edges.length; k += 2) {
    const a = graph.edges[k];
    const b = graph.edges[k + 1];
    for (const e of nbrs(a)) {
      if (e === b || !adjacent.has(e * n + b)) continue;
      for (const c of nbrs(b)) {
        if (c === a || c === e) continue;
        for (const d of nbrs(a)) {
          if (d !== b && d !== e && d !== c && adjacent.has(c * n + d)) return true;
        }
      }
    }
  }
  return false;
}

/** Node features of a graph: one-hot degree (bins 0..maxDegree, clipped) or a constant 1. */
export function nodeFeatures(graph: UndirectedGraph, kind: NodeFeatureKind, maxDegree: number): Float32Array {
  if (kind === 'constant') return new Float32Array(graph.numNodes).fill(1);
  const dim = maxDegree + 1;
  const deg = degrees(graph);
  const out = new Float32Array(graph.numNodes * dim);
  for (let v = 0; v < graph.numNodes; v++) out[v * dim + Math.min(deg[v], maxDegree)] = 1;
  return out;
}

/** A random recursive tree on `size` nodes plus `extra` distinct random non-tree edges, as pairs. */
function baseGraphPairs(rng: Rng, size: number, extra: number): number[] {
  const pairs: number[] = [];
  const taken = new Set<number>();
  for (let v = 1; v < size; v++) {
    const u = rng.int(v);
    pairs.push(u, v);
    taken.add(u * size + v);
  }
  const free = (size * (size - 1)) / 2 - (size - 1);
  for (let added = 0; added < Math.min(extra, free);) {
    const a = rng.int(size);
    const b = rng.int(size);
    const key = Math.min(a, b) * size + Math.max(a, b);
    if (a === b || taken.has(key)) continue;
    taken.add(key);
    pairs.push(a, b);
    added++;
  }
  return pairs;
}

function makeOne(rng: Rng, label: number, minNodes: number, maxNodes: number, extraEdges: number): UndirectedGraph {
  const n = minNodes + rng.int(maxNodes - minNodes + 1);
  const baseSize = n - MOTIF_NODES;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const pairs = baseGraphPairs(rng, baseSize, extraEdges);
    if (containsHouse({ numNodes: baseSize, edges: canonicalEdges(baseSize, pairs) })) continue;
    const block = label === 1 ? HOUSE_EDGES : DECOYS[rng.int(DECOYS.length)];
    for (const local of block) pairs.push(baseSize + local);
    pairs.push(rng.int(baseSize), baseSize + rng.int(MOTIF_NODES));
    const relabel = permutation(n, rng);
    const graph = {
      numNodes: n,
      edges: canonicalEdges(
        n,
        pairs.map((v) => relabel[v]),
      ),
    };
    if (containsHouse(graph) === (label === 1)) return graph;
  }
  throw new DataError(
    `makeMotifGraphs: could not draw a house-free base graph on ${baseSize} nodes with ${extraEdges} extra edges; use fewer extra edges`,
  );
}

export function makeMotifGraphs(options: MotifGraphOptions): MotifGraphSet {
  const where = 'makeMotifGraphs';
  if (!options || typeof options !== 'object') throw new DataError(`${where}: expected an options object`);
  const seed = requireSeed(where, options.seed);
  const numGraphs = requireInt(where, 'numGraphs', options.numGraphs ?? 1000, 2);
  const minNodes = requireInt(where, 'minNodes', options.minNodes ?? 10, MOTIF_NODES + 2);
  const maxNodes = requireInt(where, 'maxNodes', options.maxNodes ?? 30, minNodes, 100_000);
  const extraEdges = requireInt(where, 'extraEdges', options.extraEdges ?? 2, 0);
  const kind = options.features ?? 'degree';
  if (kind !== 'degree' && kind !== 'constant')
    throw new DataError(`${where}: features must be 'degree' or 'constant', got ${String(kind)}`);
  const maxDegree = requireInt(where, 'maxDegree', options.maxDegree ?? 6, 1);
  const trainFraction = requireNumber(where, 'trainFraction', options.trainFraction ?? 0.7, 0, 1);
  const valFraction = requireNumber(where, 'valFraction', options.valFraction ?? 0.15, 0, 1 - trainFraction);

  const graphs: SmallGraph[] = [];
  for (let i = 0; i < numGraphs; i++) {
    const label = i % 2;
    const graph = makeOne(streamRng(seed, 10, i), label, minNodes, maxNodes, extraEdges);
    graphs.push({ ...graph, label, features: nodeFeatures(graph, kind, maxDegree) });
  }
  const split = splitByClass(
    graphs.map((g) => g.label),
    2,
    trainFraction,
    valFraction,
    streamRng(seed, 11),
  );
  const pick = (idx: Int32Array) => Array.from(idx, (i) => graphs[i]);
  return {
    train: pick(split.train),
    val: pick(split.val),
    test: pick(split.test),
    featureDim: kind === 'constant' ? 1 : maxDegree + 1,
    numClasses: 2,
    motif: 'house',
  };
}

/** B graphs packed as one block-diagonal graph. */
export interface GraphBatch extends UndirectedGraph {
  numGraphs: number;
  featureDim: number;
  /** [numNodes, featureDim] row-major, graph after graph. */
  features: Float32Array;
  /** [numGraphs] graph labels. */
  labels: Int32Array;
  /** [numNodes]: which graph (0..B-1) each node belongs to — the segment ids for node pooling. */
  graphIndex: Int32Array;
  /** [numGraphs + 1]: graph g's nodes are nodeOffsets[g]..nodeOffsets[g+1]. */
  nodeOffsets: Int32Array;
  /** [numGraphs]: nodes per graph (mean pooling divides by these). */
  nodeCounts: Int32Array;
  /** Block-diagonal Â = D̃^{-1/2}(A + I)D̃^{-1/2}. */
  adjacency: SparseAdjacency;
}

/** Packs `graphs` (or graphs[indices[i]] when indices are given) into one block-diagonal graph. */
export function batchGraphs(graphs: readonly SmallGraph[], indices?: ArrayLike<number>): GraphBatch {
  const chosen = indices ? Array.from(indices, (i) => graphs[i]) : graphs.slice();
  if (chosen.length === 0) throw new DataError('batchGraphs: no graphs to batch');
  chosen.forEach((g, b) => {
    if (!g) throw new DataError(`batchGraphs: no graph at batch position ${b} (index out of range)`);
  });
  const featureDim = chosen[0].features.length / chosen[0].numNodes;
  const nodeOffsets = new Int32Array(chosen.length + 1);
  let edgeCount = 0;
  chosen.forEach((g, b) => {
    if (g.features.length !== g.numNodes * featureDim) throw new DataError(`batchGraphs: graph ${b} has a different feature size`);
    nodeOffsets[b + 1] = nodeOffsets[b] + g.numNodes;
    edgeCount += g.edges.length;
  });
  const numNodes = nodeOffsets[chosen.length];
  const features = new Float32Array(numNodes * featureDim);
  const graphIndex = new Int32Array(numNodes);
  const edges = new Int32Array(edgeCount);
  let e = 0;
  chosen.forEach((g, b) => {
    const offset = nodeOffsets[b];
    features.set(g.features, offset * featureDim);
    graphIndex.fill(b, offset, offset + g.numNodes);
    // Offsetting keeps each block's rows sorted and blocks ascend, so the list stays canonical.
    for (let i = 0; i < g.edges.length; i++) edges[e++] = g.edges[i] + offset;
  });
  const graph = { numNodes, edges };
  return {
    ...graph,
    numGraphs: chosen.length,
    featureDim,
    features,
    labels: Int32Array.from(chosen, (g) => g.label),
    graphIndex,
    nodeOffsets,
    nodeCounts: Int32Array.from(chosen, (g) => g.numNodes),
    adjacency: normalizedAdjacency(graph),
  };
}
