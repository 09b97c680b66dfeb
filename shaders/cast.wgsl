// dtype conversion between float32 and int32 (the WebGPU backend's cast; a same-dtype cast is a
// buffer copy). float32 → int32 truncates toward zero and saturates, NaN → 0, as on every backend
// (Backend.cast). WGSL's i32(f32) alone is not enough: it clamps at 2^31 − 128 (the largest f32 below
// 2^31) and leaves NaN indeterminate, and a compiler may assume no NaN or infinity, so the limits
// are decided on the bits.

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
  let bits = src[i];
  let magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) {
    dst[i] = 0u; // NaN
  } else if (magnitude >= 0x4f000000u) {
    // |x| ≥ 2^31 (0x4f000000 is 2^31 as f32), infinities included: the int32 limit of x's sign.
    dst[i] = select(0x7fffffffu, 0x80000000u, (bits >> 31u) == 1u);
  } else {
    dst[i] = bitcast<u32>(i32(bitcast<f32>(bits)));
  }
}

@compute @workgroup_size(256)
fn int_to_float(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowStride;
  if (i >= params.count) {
    return;
  }
  dst[i] = bitcast<u32>(f32(bitcast<i32>(src[i])));
}
