// The WebGPU spec's flag values. Used instead of the GPUBufferUsage/GPUMapMode globals so the
// engine loads in Node before Dawn has installed those globals (and in browsers without WebGPU).
export const BufferUsage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
export const MapMode = { READ: 0x1 } as const;

/**
 * The device limits the lab works with: requested at the adapter's own values (K-FAC factors and
 * im2col buffers outgrow the defaults) and reported in BackendInfo.limits (the GPU status panel).
 */
export const GPU_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;
