// Binary elementwise ops on float32 with NumPy broadcasting: out[i] = f(a[ia], b[ib]).
// The op is the pipeline-overridable constant OP (codes in src/engine/backend/webgpu/elementwise.ts).
// Two entry points:
//   flat:      every operand is either the whole output or one element (stride 1 or 0), or an
//              immediate scalar from the uniform (binaryScalar) — no index arithmetic.
//   broadcast: any rank ≤ 8 after the host collapsed mergeable dims; per-operand element strides
//              (0 along broadcast dims) come in the uniform as vec4 arrays (16-byte array stride).

override OP: u32 = 0u;

struct Params {
  count: u32,
  rowStride: u32, // invocations per grid row (linearGrid)
  rank: u32,
  scalarMode: u32, // flat only: 0 = both operands from buffers, 1 = a is `scalar`, 2 = b is `scalar`
  scalar: f32,
  strideA: u32, // flat only: 0 or 1
  strideB: u32,
  _pad: u32,
  shape: array<vec4<u32>, 2>,
  stridesA: array<vec4<u32>, 2>,
  stridesB: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// NaN built at run time (a NaN constant would be a shader-creation error).
fn nan() -> f32 {
  let bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

// Builtin pow is undefined for a negative base; follow Math.pow: integer exponents keep the sign
// rule, other exponents of a negative base give NaN.
fn safe_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0) {
    return 1.0;
  }
  let m = pow(abs(x), y);
  if (x >= 0.0) {
    return m;
  }
  if (y != floor(y)) {
    return nan();
  }
  let half = 0.5 * y;
  return select(m, -m, half != floor(half));
}

fn apply(x: f32, y: f32) -> f32 {
  switch OP {
    case 0u: { return x + y; }
    case 1u: { return x - y; }
    case 2u: { return x * y; }
    case 3u: { return x / y; }
    case 4u: { return safe_pow(x, y); }
    case 5u: { return max(x, y); }
    case 6u: { return min(x, y); }
    case 7u: { return select(0.0, 1.0, x > y); }
    default: { return select(0.0, 1.0, x == y); }
  }
}

@compute @workgroup_size(256)
fn flat(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowStride;
  if (i >= params.count) {
    return;
  }
  var x = params.scalar;
  var y = params.scalar;
  if (params.scalarMode != 1u) {
    x = a[i * params.strideA];
  }
  if (params.scalarMode != 2u) {
    y = b[i * params.strideB];
  }
  out[i] = apply(x, y);
}

@compute @workgroup_size(256)
fn broadcast(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowStride;
  if (i >= params.count) {
    return;
  }
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(params.rank) - 1; d >= 0; d--) {
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let n = params.shape[q][r];
    let coord = rest % n;
    rest = rest / n;
    ia += coord * params.stridesA[q][r];
    ib += coord * params.stridesB[q][r];
  }
  out[i] = apply(a[ia], b[ib]);
}
