// dtype conversion between float32 and int32 (the WebGPU backend's cast; a same-dtype cast is a
// buffer copy). float32 → int32 truncates toward zero like the CPU's Math.trunc; values outside the
// int32 range saturate here (the CPU wraps them), and NaN is unspecified.

struct Params {
  count: u32,
  rowStride: u32, // invocations per grid row (linearGrid)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(256)
fn float_to_int(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowStride;
  if (i >= params.count) {
    return;
  }
  dst[i] = bitcast<u32>(i32(bitcast<f32>(src[i])));
}

@compute @workgroup_size(256)
fn int_to_float(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowStride;
  if (i >= params.count) {
    return;
  }
  dst[i] = bitcast<u32>(f32(bitcast<i32>(src[i])));
}
