// Entry of the WebAssembly kernels (built by scripts/build-wasm.mjs into
// src/engine/backend/wasm/generated/). Memory is managed by the TypeScript side
// (src/engine/backend/wasm/wasm-memory.ts) from heapBase() upwards.
export * from './matmul';
export * from './elementwise';
export * from './reduce';
export * from './layout';
export * from './factor';
export * from './linalg';

/** First byte after the module's static data: the allocator's arena starts here. */
export function heapBase(): usize {
  return __heap_base;
}
