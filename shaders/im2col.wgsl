// im2col and its adjoint col2im for a 2-D convolution over x [N, C, H, W].
// cols [N, outH·outW, C·kH·kW]: one row per output position, columns ordered (c, kh, kw) like a
// Conv2d weight [Cout, C, kH, kW] flattened; positions outside the (zero-padded) input read 0.

struct Params {
  count: u32,
  rowStride: u32,
  n: u32,
  c: u32,
  h: u32,
  w: u32,
  kernelH: u32,
  kernelW: u32,
  strideH: u32,
  strideW: u32,
  padH: u32,
  padW: u32,
  dilationH: u32,
  dilationW: u32,
  outH: u32,
  outW: u32,
}

@group(0) @binding(0) var<uniform> params: Params;

// im2col: one invocation per (output position, channel) writes that channel's kH·kW contiguous
// column entries (index arithmetic once per patch row, not per entry); a pure copy moved as raw
// 32-bit words, so int32 works too.
@group(0) @binding(1) var<storage, read> imSrc: array<u32>;
@group(0) @binding(2) var<storage, read_write> imCols: array<u32>;

@compute @workgroup_size(256)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.rowStride;
  if (g >= params.count) {
    return;
  }
  let c = g % params.c;
  let row = g / params.c; // n·outH·outW + position
  let ow = row % params.outW;
  let oh = (row / params.outW) % params.outH;
  let n = row / (params.outW * params.outH);
  let kArea = params.kernelH * params.kernelW;
  var o = row * params.c * kArea + c * kArea;
  let plane = (n * params.c + c) * params.h;
  let h0 = i32(oh * params.strideH) - i32(params.padH);
  let w0 = i32(ow * params.strideW) - i32(params.padW);
  for (var kh = 0u; kh < params.kernelH; kh++) {
    let ih = h0 + i32(kh * params.dilationH);
    let rowInside = ih >= 0 && ih < i32(params.h);
    let rowBase = (plane + u32(max(ih, 0))) * params.w;
    for (var kw = 0u; kw < params.kernelW; kw++) {
      let iw = w0 + i32(kw * params.dilationW);
      var v = 0u;
      if (rowInside && iw >= 0 && iw < i32(params.w)) {
        v = imSrc[rowBase + u32(iw)];
      }
      imCols[o] = v;
      o++;
    }
  }
}

// col2im: one invocation per input pixel gathers every column entry that copied it, so overlapping
// patches are summed without atomics, in a fixed order (kh, then kw).
@group(0) @binding(1) var<storage, read> colSrc: array<f32>;
@group(0) @binding(2) var<storage, read_write> colImage: array<f32>;

@compute @workgroup_size(256)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.rowStride;
  if (g >= params.count) {
    return;
  }
  let iw = g % params.w;
  let ih = (g / params.w) % params.h;
  let c = (g / (params.w * params.h)) % params.c;
  let n = g / (params.w * params.h * params.c);
  let patchLen = params.c * params.kernelH * params.kernelW;
  let positions = params.outH * params.outW;
  var sum = 0.0;
  // oh·strideH = ih + padH − kh·dilationH must be a non-negative multiple of strideH below outH·strideH;
  // th falls as kh grows, so the loops stop at the first negative one.
  for (var kh = 0u; kh < params.kernelH; kh++) {
    let th = i32(ih + params.padH) - i32(kh * params.dilationH);
    if (th < 0) {
      break;
    }
    let oh = u32(th) / params.strideH;
    if (oh * params.strideH != u32(th) || oh >= params.outH) {
      continue;
    }
    let rowBase = (n * positions + oh * params.outW) * patchLen + (c * params.kernelH + kh) * params.kernelW;
    for (var kw = 0u; kw < params.kernelW; kw++) {
      let tw = i32(iw + params.padW) - i32(kw * params.dilationW);
      if (tw < 0) {
        break;
      }
      let ow = u32(tw) / params.strideW;
      if (ow * params.strideW != u32(tw) || ow >= params.outW) {
        continue;
      }
      sum += colSrc[rowBase + ow * patchLen + kw];
    }
  }
  colImage[g] = sum;
}
