// Strided copy: permute, slice and each input of concat, over a (simplified) index space `shape`:
//   out[outBase + Σ i_k·outStrides_k] = in[inBase + Σ i_k·inStrides_k].
// Axes are stored innermost first. Each invocation copies a run of up to RUN consecutive indices of
// the innermost axis, so the index arithmetic (integer division is slow on SwiftShader) is paid once
// per run; the per-axis steps are unrolled with constant uniform indices, which SwiftShader runs
// several times faster than a loop over a dynamically indexed uniform array.
// Elements move as raw 32-bit words, so float32 and int32 share this kernel.

const RUN = 8u;

struct Params {
  count: u32,      // invocations: (elements / innermost extent) · runs per innermost line
  rank: u32,       // axes after the innermost one that need peeling (≤ 8)
  inBase: u32,
  outBase: u32,
  rowStride: u32,
  innerSize: u32,  // extent of the innermost axis
  innerIn: u32,    // its input stride
  innerOut: u32,   // its output stride
  runs: u32,       // ceil(innerSize / RUN)
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  // Outer axes, innermost first; uniform arrays need a 16-byte element stride, hence vec4 packing.
  shape: array<vec4<u32>, 2>,
  inStrides: array<vec4<u32>, 2>,
  outStrides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.rowStride;
  if (g >= params.count) {
    return;
  }
  let run = g % params.runs;
  var rest = g / params.runs;
  var inOff = params.inBase;
  var outOff = params.outBase;
  if (params.rank > 0u) {
    let n = params.shape[0].x;
    let i = rest % n;
    rest = rest / n;
    inOff += i * params.inStrides[0].x;
    outOff += i * params.outStrides[0].x;
  }
  if (params.rank > 1u) {
    let n = params.shape[0].y;
    let i = rest % n;
    rest = rest / n;
    inOff += i * params.inStrides[0].y;
    outOff += i * params.outStrides[0].y;
  }
  if (params.rank > 2u) {
    let n = params.shape[0].z;
    let i = rest % n;
    rest = rest / n;
    inOff += i * params.inStrides[0].z;
    outOff += i * params.outStrides[0].z;
  }
  if (params.rank > 3u) {
    let n = params.shape[0].w;
    let i = rest % n;
    rest = rest / n;
    inOff += i * params.inStrides[0].w;
    outOff += i * params.outStrides[0].w;
  }
  if (params.rank > 4u) {
    let n = params.shape[1].x;
    let i = rest % n;
    rest = rest / n;
    inOff += i * params.inStrides[1].x;
    outOff += i * params.outStrides[1].x;
  }
  if (params.rank > 5u) {
    let n = params.shape[1].y;
    let i = rest % n;
    rest = rest / n;
    inOff += i * params.inStrides[1].y;
    outOff += i * params.outStrides[1].y;
  }
  if (params.rank > 6u) {
    let n = params.shape[1].z;
    let i = rest % n;
    rest = rest / n;
    inOff += i * params.inStrides[1].z;
    outOff += i * params.outStrides[1].z;
  }
  if (params.rank > 7u) {
    let n = params.shape[1].w;
    let i = rest % n;
    rest = rest / n;
    inOff += i * params.inStrides[1].w;
    outOff += i * params.outStrides[1].w;
  }
  let begin = run * RUN;
  let end = min(begin + RUN, params.innerSize);
  for (var i = begin; i < end; i++) {
    dst[outOff + i * params.innerOut] = src[inOff + i * params.innerIn];
  }
}
