// The engine's public surface.
export * from './tensor.ts';
export type * from './backend/backend.ts';
export { createBackend, requestWebGPU, WebGPUUnavailableError, type CreateBackendOptions } from './backend/create-backend.ts';
export { CpuBackend } from './backend/cpu/cpu-backend.ts';
export { WebGPUBackend, DeviceLostError } from './backend/webgpu/webgpu-backend.ts';
export { ShapeError } from './kernels/shape.ts';
