// Natural gradient on wide networks (docs/curvature-tools.md §7).
export * from './data.ts';
export * from './host-solve.ts';
export * from './two-layer.ts';
export * from './ngd.ts';
