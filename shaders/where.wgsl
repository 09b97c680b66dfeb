// where(cond, a, b) = cond ≠ 0 ? a : b on float32 values, broadcasting all three. cond arrives as
// raw 32-bit words so one pipeline serves float32 and int32 conditions (condIsFloat picks the
// zero test: ±0.0 both count as zero). Entry points as in binary.wgsl: flat (strides 0 or 1) and
// broadcast (rank ≤ 8, strides in the uniform as vec4 arrays).

struct Params {
  count: u32,
  rowStride: u32, // invocations per grid row (linearGrid)
  rank: u32,
  condIsFloat: u32,
  strideC: u32, // flat only: 0 or 1
  strideA: u32,
  strideB: u32,
  _pad: u32,
  shape: array<vec4<u32>, 2>,
  stridesC: array<vec4<u32>, 2>,
  stridesA: array<vec4<u32>, 2>,
  stridesB: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cond: array<u32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn is_true(bits: u32) -> bool {
  let magnitude = select(bits, bits & 0x7fffffffu, params.condIsFloat != 0u);
  return magnitude != 0u;
}

@compute @workgroup_size(256)
fn flat(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowStride;
  if (i >= params.count) {
    return;
  }
  out[i] = select(b[i * params.strideB], a[i * params.strideA], is_true(cond[i * params.strideC]));
}

@compute @workgroup_size(256)
fn broadcast(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowStride;
  if (i >= params.count) {
    return;
  }
  var rest = i;
  var ic = 0u;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(params.rank) - 1; d >= 0; d--) {
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let n = params.shape[q][r];
    let coord = rest % n;
    rest = rest / n;
    ic += coord * params.stridesC[q][r];
    ia += coord * params.stridesA[q][r];
    ib += coord * params.stridesB[q][r];
  }
  out[i] = select(b[ib], a[ia], is_true(cond[ic]));
}
