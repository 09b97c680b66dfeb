struct Params { m: u32, n: u32, k: u32, pad: u32 }
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// 4 rows x 4 interleaved cols, scalar loads
@compute @workgroup_size(WG_X, WG_Y)
fn s44(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n = params.n; let k = params.k;
  let row0 = (wg.y * WG_Y + lid.y) * 4u;
  let col = wg.x * WG_X * 4u + lid.x;
  var ia = row0 * k;
  var ib = col;
  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  for (var p = 0u; p < k; p++) {
    let bv = vec4f(b[ib], b[ib + WG_X], b[ib + 2u * WG_X], b[ib + 3u * WG_X]);
    acc0 += a[ia] * bv;
    acc1 += a[ia + k] * bv;
    acc2 += a[ia + 2u * k] * bv;
    acc3 += a[ia + 3u * k] * bv;
    ia += 1u;
    ib += n;
  }
  var o = row0 * n + col;
  c[o] = acc0.x; c[o + WG_X] = acc0.y; c[o + 2u * WG_X] = acc0.z; c[o + 3u * WG_X] = acc0.w; o += n;
  c[o] = acc1.x; c[o + WG_X] = acc1.y; c[o + 2u * WG_X] = acc1.z; c[o + 3u * WG_X] = acc1.w; o += n;
  c[o] = acc2.x; c[o + WG_X] = acc2.y; c[o + 2u * WG_X] = acc2.z; c[o + 3u * WG_X] = acc2.w; o += n;
  c[o] = acc3.x; c[o + WG_X] = acc3.y; c[o + 2u * WG_X] = acc3.z; c[o + 3u * WG_X] = acc3.w;
}

// 8 rows x 4 interleaved cols
@compute @workgroup_size(WG_X, WG_Y)
fn s84(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n = params.n; let k = params.k;
  let row0 = (wg.y * WG_Y + lid.y) * 8u;
  let col = wg.x * WG_X * 4u + lid.x;
  var ia = row0 * k;
  var ib = col;
  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  var acc4 = vec4f(0.0); var acc5 = vec4f(0.0); var acc6 = vec4f(0.0); var acc7 = vec4f(0.0);
  for (var p = 0u; p < k; p++) {
    let bv = vec4f(b[ib], b[ib + WG_X], b[ib + 2u * WG_X], b[ib + 3u * WG_X]);
    acc0 += a[ia] * bv;
    acc1 += a[ia + k] * bv;
    acc2 += a[ia + 2u * k] * bv;
    acc3 += a[ia + 3u * k] * bv;
    acc4 += a[ia + 4u * k] * bv;
    acc5 += a[ia + 5u * k] * bv;
    acc6 += a[ia + 6u * k] * bv;
    acc7 += a[ia + 7u * k] * bv;
    ia += 1u;
    ib += n;
  }
  var o = row0 * n + col;
  c[o] = acc0.x; c[o + WG_X] = acc0.y; c[o + 2u * WG_X] = acc0.z; c[o + 3u * WG_X] = acc0.w; o += n;
  c[o] = acc1.x; c[o + WG_X] = acc1.y; c[o + 2u * WG_X] = acc1.z; c[o + 3u * WG_X] = acc1.w; o += n;
  c[o] = acc2.x; c[o + WG_X] = acc2.y; c[o + 2u * WG_X] = acc2.z; c[o + 3u * WG_X] = acc2.w; o += n;
  c[o] = acc3.x; c[o + WG_X] = acc3.y; c[o + 2u * WG_X] = acc3.z; c[o + 3u * WG_X] = acc3.w; o += n;
  c[o] = acc4.x; c[o + WG_X] = acc4.y; c[o + 2u * WG_X] = acc4.z; c[o + 3u * WG_X] = acc4.w; o += n;
  c[o] = acc5.x; c[o + WG_X] = acc5.y; c[o + 2u * WG_X] = acc5.z; c[o + 3u * WG_X] = acc5.w; o += n;
  c[o] = acc6.x; c[o + WG_X] = acc6.y; c[o + 2u * WG_X] = acc6.z; c[o + 3u * WG_X] = acc6.w; o += n;
  c[o] = acc7.x; c[o + WG_X] = acc7.y; c[o + 2u * WG_X] = acc7.z; c[o + 3u * WG_X] = acc7.w;
}

// vec4 A broadcast (along k), B scalar interleaved cols; 4x4
@compute @workgroup_size(WG_X, WG_Y)
fn v44(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n = params.n; let k = params.k;
  let row0 = (wg.y * WG_Y + lid.y) * 4u;
  let col = wg.x * WG_X * 4u + lid.x;
  var ia = row0 * k;
  var ib = col;
  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  for (var p = 0u; p < k; p += 4u) {
    let a0 = vec4f(a[ia], a[ia + 1u], a[ia + 2u], a[ia + 3u]);
    let a1 = vec4f(a[ia + k], a[ia + k + 1u], a[ia + k + 2u], a[ia + k + 3u]);
    let a2 = vec4f(a[ia + 2u * k], a[ia + 2u * k + 1u], a[ia + 2u * k + 2u], a[ia + 2u * k + 3u]);
    let a3 = vec4f(a[ia + 3u * k], a[ia + 3u * k + 1u], a[ia + 3u * k + 2u], a[ia + 3u * k + 3u]);
    let b0 = vec4f(b[ib], b[ib + WG_X], b[ib + 2u * WG_X], b[ib + 3u * WG_X]);
    let b1 = vec4f(b[ib + n], b[ib + n + WG_X], b[ib + n + 2u * WG_X], b[ib + n + 3u * WG_X]);
    let b2 = vec4f(b[ib + 2u * n], b[ib + 2u * n + WG_X], b[ib + 2u * n + 2u * WG_X], b[ib + 2u * n + 3u * WG_X]);
    let b3 = vec4f(b[ib + 3u * n], b[ib + 3u * n + WG_X], b[ib + 3u * n + 2u * WG_X], b[ib + 3u * n + 3u * WG_X]);
    acc0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
    acc1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
    acc2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
    acc3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
    ia += 4u;
    ib += 4u * n;
  }
  var o = row0 * n + col;
  c[o] = acc0.x; c[o + WG_X] = acc0.y; c[o + 2u * WG_X] = acc0.z; c[o + 3u * WG_X] = acc0.w; o += n;
  c[o] = acc1.x; c[o + WG_X] = acc1.y; c[o + 2u * WG_X] = acc1.z; c[o + 3u * WG_X] = acc1.w; o += n;
  c[o] = acc2.x; c[o + WG_X] = acc2.y; c[o + 2u * WG_X] = acc2.z; c[o + 3u * WG_X] = acc2.w; o += n;
  c[o] = acc3.x; c[o + WG_X] = acc3.y; c[o + 2u * WG_X] = acc3.z; c[o + 3u * WG_X] = acc3.w;
}
