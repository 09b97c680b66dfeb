struct Params { m: u32, n: u32, k: u32, pad: u32 }
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;
@compute @workgroup_size(WG_X, WG_Y)
fn v44(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n4 = params.n / 4u; let k4 = params.k / 4u;
  let row0 = (wg.y * WG_Y + lid.y) * 4u;
  let cb0 = (wg.x * WG_X + lid.x) * 1u;
  var ia = row0 * k4;
  var ib = cb0;
  var acc0_0 = vec4f(0.0);
  var acc1_0 = vec4f(0.0);
  var acc2_0 = vec4f(0.0);
  var acc3_0 = vec4f(0.0);
  for (var p = 0u; p < k4; p++) {
    let b0_0 = b[ib + 0u * n4 + 0u * 1u];
    let b1_0 = b[ib + 1u * n4 + 0u * 1u];
    let b2_0 = b[ib + 2u * n4 + 0u * 1u];
    let b3_0 = b[ib + 3u * n4 + 0u * 1u];
    let a0 = a[ia + 0u * k4];
    acc0_0 += a0.x * b0_0 + a0.y * b1_0 + a0.z * b2_0 + a0.w * b3_0;
    let a1 = a[ia + 1u * k4];
    acc1_0 += a1.x * b0_0 + a1.y * b1_0 + a1.z * b2_0 + a1.w * b3_0;
    let a2 = a[ia + 2u * k4];
    acc2_0 += a2.x * b0_0 + a2.y * b1_0 + a2.z * b2_0 + a2.w * b3_0;
    let a3 = a[ia + 3u * k4];
    acc3_0 += a3.x * b0_0 + a3.y * b1_0 + a3.z * b2_0 + a3.w * b3_0;
    ia += 1u; ib += 4u * n4;
  }
  c[(row0 + 0u) * n4 + cb0 + 0u * 1u] = acc0_0;
  c[(row0 + 1u) * n4 + cb0 + 0u * 1u] = acc1_0;
  c[(row0 + 2u) * n4 + cb0 + 0u * 1u] = acc2_0;
  c[(row0 + 3u) * n4 + cb0 + 0u * 1u] = acc3_0;
}
@compute @workgroup_size(WG_X, WG_Y)
fn v84(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n4 = params.n / 4u; let k4 = params.k / 4u;
  let row0 = (wg.y * WG_Y + lid.y) * 8u;
  let cb0 = (wg.x * WG_X + lid.x) * 1u;
  var ia = row0 * k4;
  var ib = cb0;
  var acc0_0 = vec4f(0.0);
  var acc1_0 = vec4f(0.0);
  var acc2_0 = vec4f(0.0);
  var acc3_0 = vec4f(0.0);
  var acc4_0 = vec4f(0.0);
  var acc5_0 = vec4f(0.0);
  var acc6_0 = vec4f(0.0);
  var acc7_0 = vec4f(0.0);
  for (var p = 0u; p < k4; p++) {
    let b0_0 = b[ib + 0u * n4 + 0u * 1u];
    let b1_0 = b[ib + 1u * n4 + 0u * 1u];
    let b2_0 = b[ib + 2u * n4 + 0u * 1u];
    let b3_0 = b[ib + 3u * n4 + 0u * 1u];
    let a0 = a[ia + 0u * k4];
    acc0_0 += a0.x * b0_0 + a0.y * b1_0 + a0.z * b2_0 + a0.w * b3_0;
    let a1 = a[ia + 1u * k4];
    acc1_0 += a1.x * b0_0 + a1.y * b1_0 + a1.z * b2_0 + a1.w * b3_0;
    let a2 = a[ia + 2u * k4];
    acc2_0 += a2.x * b0_0 + a2.y * b1_0 + a2.z * b2_0 + a2.w * b3_0;
    let a3 = a[ia + 3u * k4];
    acc3_0 += a3.x * b0_0 + a3.y * b1_0 + a3.z * b2_0 + a3.w * b3_0;
    let a4 = a[ia + 4u * k4];
    acc4_0 += a4.x * b0_0 + a4.y * b1_0 + a4.z * b2_0 + a4.w * b3_0;
    let a5 = a[ia + 5u * k4];
    acc5_0 += a5.x * b0_0 + a5.y * b1_0 + a5.z * b2_0 + a5.w * b3_0;
    let a6 = a[ia + 6u * k4];
    acc6_0 += a6.x * b0_0 + a6.y * b1_0 + a6.z * b2_0 + a6.w * b3_0;
    let a7 = a[ia + 7u * k4];
    acc7_0 += a7.x * b0_0 + a7.y * b1_0 + a7.z * b2_0 + a7.w * b3_0;
    ia += 1u; ib += 4u * n4;
  }
  c[(row0 + 0u) * n4 + cb0 + 0u * 1u] = acc0_0;
  c[(row0 + 1u) * n4 + cb0 + 0u * 1u] = acc1_0;
  c[(row0 + 2u) * n4 + cb0 + 0u * 1u] = acc2_0;
  c[(row0 + 3u) * n4 + cb0 + 0u * 1u] = acc3_0;
  c[(row0 + 4u) * n4 + cb0 + 0u * 1u] = acc4_0;
  c[(row0 + 5u) * n4 + cb0 + 0u * 1u] = acc5_0;
  c[(row0 + 6u) * n4 + cb0 + 0u * 1u] = acc6_0;
  c[(row0 + 7u) * n4 + cb0 + 0u * 1u] = acc7_0;
}
@compute @workgroup_size(WG_X, WG_Y)
fn v48(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n4 = params.n / 4u; let k4 = params.k / 4u;
  let row0 = (wg.y * WG_Y + lid.y) * 4u;
  let cb0 = (wg.x * WG_X + lid.x) * 2u;
  var ia = row0 * k4;
  var ib = cb0;
  var acc0_0 = vec4f(0.0);
  var acc0_1 = vec4f(0.0);
  var acc1_0 = vec4f(0.0);
  var acc1_1 = vec4f(0.0);
  var acc2_0 = vec4f(0.0);
  var acc2_1 = vec4f(0.0);
  var acc3_0 = vec4f(0.0);
  var acc3_1 = vec4f(0.0);
  for (var p = 0u; p < k4; p++) {
    let b0_0 = b[ib + 0u * n4 + 0u * 1u];
    let b0_1 = b[ib + 0u * n4 + 1u * 1u];
    let b1_0 = b[ib + 1u * n4 + 0u * 1u];
    let b1_1 = b[ib + 1u * n4 + 1u * 1u];
    let b2_0 = b[ib + 2u * n4 + 0u * 1u];
    let b2_1 = b[ib + 2u * n4 + 1u * 1u];
    let b3_0 = b[ib + 3u * n4 + 0u * 1u];
    let b3_1 = b[ib + 3u * n4 + 1u * 1u];
    let a0 = a[ia + 0u * k4];
    acc0_0 += a0.x * b0_0 + a0.y * b1_0 + a0.z * b2_0 + a0.w * b3_0;
    acc0_1 += a0.x * b0_1 + a0.y * b1_1 + a0.z * b2_1 + a0.w * b3_1;
    let a1 = a[ia + 1u * k4];
    acc1_0 += a1.x * b0_0 + a1.y * b1_0 + a1.z * b2_0 + a1.w * b3_0;
    acc1_1 += a1.x * b0_1 + a1.y * b1_1 + a1.z * b2_1 + a1.w * b3_1;
    let a2 = a[ia + 2u * k4];
    acc2_0 += a2.x * b0_0 + a2.y * b1_0 + a2.z * b2_0 + a2.w * b3_0;
    acc2_1 += a2.x * b0_1 + a2.y * b1_1 + a2.z * b2_1 + a2.w * b3_1;
    let a3 = a[ia + 3u * k4];
    acc3_0 += a3.x * b0_0 + a3.y * b1_0 + a3.z * b2_0 + a3.w * b3_0;
    acc3_1 += a3.x * b0_1 + a3.y * b1_1 + a3.z * b2_1 + a3.w * b3_1;
    ia += 1u; ib += 4u * n4;
  }
  c[(row0 + 0u) * n4 + cb0 + 0u * 1u] = acc0_0;
  c[(row0 + 0u) * n4 + cb0 + 1u * 1u] = acc0_1;
  c[(row0 + 1u) * n4 + cb0 + 0u * 1u] = acc1_0;
  c[(row0 + 1u) * n4 + cb0 + 1u * 1u] = acc1_1;
  c[(row0 + 2u) * n4 + cb0 + 0u * 1u] = acc2_0;
  c[(row0 + 2u) * n4 + cb0 + 1u * 1u] = acc2_1;
  c[(row0 + 3u) * n4 + cb0 + 0u * 1u] = acc3_0;
  c[(row0 + 3u) * n4 + cb0 + 1u * 1u] = acc3_1;
}
@compute @workgroup_size(WG_X, WG_Y)
fn v48i(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n4 = params.n / 4u; let k4 = params.k / 4u;
  let row0 = (wg.y * WG_Y + lid.y) * 4u;
  let cb0 = wg.x * WG_X * 2u + lid.x;
  var ia = row0 * k4;
  var ib = cb0;
  var acc0_0 = vec4f(0.0);
  var acc0_1 = vec4f(0.0);
  var acc1_0 = vec4f(0.0);
  var acc1_1 = vec4f(0.0);
  var acc2_0 = vec4f(0.0);
  var acc2_1 = vec4f(0.0);
  var acc3_0 = vec4f(0.0);
  var acc3_1 = vec4f(0.0);
  for (var p = 0u; p < k4; p++) {
    let b0_0 = b[ib + 0u * n4 + 0u * WG_X];
    let b0_1 = b[ib + 0u * n4 + 1u * WG_X];
    let b1_0 = b[ib + 1u * n4 + 0u * WG_X];
    let b1_1 = b[ib + 1u * n4 + 1u * WG_X];
    let b2_0 = b[ib + 2u * n4 + 0u * WG_X];
    let b2_1 = b[ib + 2u * n4 + 1u * WG_X];
    let b3_0 = b[ib + 3u * n4 + 0u * WG_X];
    let b3_1 = b[ib + 3u * n4 + 1u * WG_X];
    let a0 = a[ia + 0u * k4];
    acc0_0 += a0.x * b0_0 + a0.y * b1_0 + a0.z * b2_0 + a0.w * b3_0;
    acc0_1 += a0.x * b0_1 + a0.y * b1_1 + a0.z * b2_1 + a0.w * b3_1;
    let a1 = a[ia + 1u * k4];
    acc1_0 += a1.x * b0_0 + a1.y * b1_0 + a1.z * b2_0 + a1.w * b3_0;
    acc1_1 += a1.x * b0_1 + a1.y * b1_1 + a1.z * b2_1 + a1.w * b3_1;
    let a2 = a[ia + 2u * k4];
    acc2_0 += a2.x * b0_0 + a2.y * b1_0 + a2.z * b2_0 + a2.w * b3_0;
    acc2_1 += a2.x * b0_1 + a2.y * b1_1 + a2.z * b2_1 + a2.w * b3_1;
    let a3 = a[ia + 3u * k4];
    acc3_0 += a3.x * b0_0 + a3.y * b1_0 + a3.z * b2_0 + a3.w * b3_0;
    acc3_1 += a3.x * b0_1 + a3.y * b1_1 + a3.z * b2_1 + a3.w * b3_1;
    ia += 1u; ib += 4u * n4;
  }
  c[(row0 + 0u) * n4 + cb0 + 0u * WG_X] = acc0_0;
  c[(row0 + 0u) * n4 + cb0 + 1u * WG_X] = acc0_1;
  c[(row0 + 1u) * n4 + cb0 + 0u * WG_X] = acc1_0;
  c[(row0 + 1u) * n4 + cb0 + 1u * WG_X] = acc1_1;
  c[(row0 + 2u) * n4 + cb0 + 0u * WG_X] = acc2_0;
  c[(row0 + 2u) * n4 + cb0 + 1u * WG_X] = acc2_1;
  c[(row0 + 3u) * n4 + cb0 + 0u * WG_X] = acc3_0;
  c[(row0 + 3u) * n4 + cb0 + 1u * WG_X] = acc3_1;
}
@compute @workgroup_size(WG_X, WG_Y)
fn v88(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n4 = params.n / 4u; let k4 = params.k / 4u;
  let row0 = (wg.y * WG_Y + lid.y) * 8u;
  let cb0 = (wg.x * WG_X + lid.x) * 2u;
  var ia = row0 * k4;
  var ib = cb0;
  var acc0_0 = vec4f(0.0);
  var acc0_1 = vec4f(0.0);
  var acc1_0 = vec4f(0.0);
  var acc1_1 = vec4f(0.0);
  var acc2_0 = vec4f(0.0);
  var acc2_1 = vec4f(0.0);
  var acc3_0 = vec4f(0.0);
  var acc3_1 = vec4f(0.0);
  var acc4_0 = vec4f(0.0);
  var acc4_1 = vec4f(0.0);
  var acc5_0 = vec4f(0.0);
  var acc5_1 = vec4f(0.0);
  var acc6_0 = vec4f(0.0);
  var acc6_1 = vec4f(0.0);
  var acc7_0 = vec4f(0.0);
  var acc7_1 = vec4f(0.0);
  for (var p = 0u; p < k4; p++) {
    let b0_0 = b[ib + 0u * n4 + 0u * 1u];
    let b0_1 = b[ib + 0u * n4 + 1u * 1u];
    let b1_0 = b[ib + 1u * n4 + 0u * 1u];
    let b1_1 = b[ib + 1u * n4 + 1u * 1u];
    let b2_0 = b[ib + 2u * n4 + 0u * 1u];
    let b2_1 = b[ib + 2u * n4 + 1u * 1u];
    let b3_0 = b[ib + 3u * n4 + 0u * 1u];
    let b3_1 = b[ib + 3u * n4 + 1u * 1u];
    let a0 = a[ia + 0u * k4];
    acc0_0 += a0.x * b0_0 + a0.y * b1_0 + a0.z * b2_0 + a0.w * b3_0;
    acc0_1 += a0.x * b0_1 + a0.y * b1_1 + a0.z * b2_1 + a0.w * b3_1;
    let a1 = a[ia + 1u * k4];
    acc1_0 += a1.x * b0_0 + a1.y * b1_0 + a1.z * b2_0 + a1.w * b3_0;
    acc1_1 += a1.x * b0_1 + a1.y * b1_1 + a1.z * b2_1 + a1.w * b3_1;
    let a2 = a[ia + 2u * k4];
    acc2_0 += a2.x * b0_0 + a2.y * b1_0 + a2.z * b2_0 + a2.w * b3_0;
    acc2_1 += a2.x * b0_1 + a2.y * b1_1 + a2.z * b2_1 + a2.w * b3_1;
    let a3 = a[ia + 3u * k4];
    acc3_0 += a3.x * b0_0 + a3.y * b1_0 + a3.z * b2_0 + a3.w * b3_0;
    acc3_1 += a3.x * b0_1 + a3.y * b1_1 + a3.z * b2_1 + a3.w * b3_1;
    let a4 = a[ia + 4u * k4];
    acc4_0 += a4.x * b0_0 + a4.y * b1_0 + a4.z * b2_0 + a4.w * b3_0;
    acc4_1 += a4.x * b0_1 + a4.y * b1_1 + a4.z * b2_1 + a4.w * b3_1;
    let a5 = a[ia + 5u * k4];
    acc5_0 += a5.x * b0_0 + a5.y * b1_0 + a5.z * b2_0 + a5.w * b3_0;
    acc5_1 += a5.x * b0_1 + a5.y * b1_1 + a5.z * b2_1 + a5.w * b3_1;
    let a6 = a[ia + 6u * k4];
    acc6_0 += a6.x * b0_0 + a6.y * b1_0 + a6.z * b2_0 + a6.w * b3_0;
    acc6_1 += a6.x * b0_1 + a6.y * b1_1 + a6.z * b2_1 + a6.w * b3_1;
    let a7 = a[ia + 7u * k4];
    acc7_0 += a7.x * b0_0 + a7.y * b1_0 + a7.z * b2_0 + a7.w * b3_0;
    acc7_1 += a7.x * b0_1 + a7.y * b1_1 + a7.z * b2_1 + a7.w * b3_1;
    ia += 1u; ib += 4u * n4;
  }
  c[(row0 + 0u) * n4 + cb0 + 0u * 1u] = acc0_0;
  c[(row0 + 0u) * n4 + cb0 + 1u * 1u] = acc0_1;
  c[(row0 + 1u) * n4 + cb0 + 0u * 1u] = acc1_0;
  c[(row0 + 1u) * n4 + cb0 + 1u * 1u] = acc1_1;
  c[(row0 + 2u) * n4 + cb0 + 0u * 1u] = acc2_0;
  c[(row0 + 2u) * n4 + cb0 + 1u * 1u] = acc2_1;
  c[(row0 + 3u) * n4 + cb0 + 0u * 1u] = acc3_0;
  c[(row0 + 3u) * n4 + cb0 + 1u * 1u] = acc3_1;
  c[(row0 + 4u) * n4 + cb0 + 0u * 1u] = acc4_0;
  c[(row0 + 4u) * n4 + cb0 + 1u * 1u] = acc4_1;
  c[(row0 + 5u) * n4 + cb0 + 0u * 1u] = acc5_0;
  c[(row0 + 5u) * n4 + cb0 + 1u * 1u] = acc5_1;
  c[(row0 + 6u) * n4 + cb0 + 0u * 1u] = acc6_0;
  c[(row0 + 6u) * n4 + cb0 + 1u * 1u] = acc6_1;
  c[(row0 + 7u) * n4 + cb0 + 0u * 1u] = acc7_0;
  c[(row0 + 7u) * n4 + cb0 + 1u * 1u] = acc7_1;
}
@compute @workgroup_size(WG_X, WG_Y)
fn v24(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n4 = params.n / 4u; let k4 = params.k / 4u;
  let row0 = (wg.y * WG_Y + lid.y) * 2u;
  let cb0 = (wg.x * WG_X + lid.x) * 1u;
  var ia = row0 * k4;
  var ib = cb0;
  var acc0_0 = vec4f(0.0);
  var acc1_0 = vec4f(0.0);
  for (var p = 0u; p < k4; p++) {
    let b0_0 = b[ib + 0u * n4 + 0u * 1u];
    let b1_0 = b[ib + 1u * n4 + 0u * 1u];
    let b2_0 = b[ib + 2u * n4 + 0u * 1u];
    let b3_0 = b[ib + 3u * n4 + 0u * 1u];
    let a0 = a[ia + 0u * k4];
    acc0_0 += a0.x * b0_0 + a0.y * b1_0 + a0.z * b2_0 + a0.w * b3_0;
    let a1 = a[ia + 1u * k4];
    acc1_0 += a1.x * b0_0 + a1.y * b1_0 + a1.z * b2_0 + a1.w * b3_0;
    ia += 1u; ib += 4u * n4;
  }
  c[(row0 + 0u) * n4 + cb0 + 0u * 1u] = acc0_0;
  c[(row0 + 1u) * n4 + cb0 + 0u * 1u] = acc1_0;
}
@compute @workgroup_size(WG_X, WG_Y)
fn v28(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n4 = params.n / 4u; let k4 = params.k / 4u;
  let row0 = (wg.y * WG_Y + lid.y) * 2u;
  let cb0 = (wg.x * WG_X + lid.x) * 2u;
  var ia = row0 * k4;
  var ib = cb0;
  var acc0_0 = vec4f(0.0);
  var acc0_1 = vec4f(0.0);
  var acc1_0 = vec4f(0.0);
  var acc1_1 = vec4f(0.0);
  for (var p = 0u; p < k4; p++) {
    let b0_0 = b[ib + 0u * n4 + 0u * 1u];
    let b0_1 = b[ib + 0u * n4 + 1u * 1u];
    let b1_0 = b[ib + 1u * n4 + 0u * 1u];
    let b1_1 = b[ib + 1u * n4 + 1u * 1u];
    let b2_0 = b[ib + 2u * n4 + 0u * 1u];
    let b2_1 = b[ib + 2u * n4 + 1u * 1u];
    let b3_0 = b[ib + 3u * n4 + 0u * 1u];
    let b3_1 = b[ib + 3u * n4 + 1u * 1u];
    let a0 = a[ia + 0u * k4];
    acc0_0 += a0.x * b0_0 + a0.y * b1_0 + a0.z * b2_0 + a0.w * b3_0;
    acc0_1 += a0.x * b0_1 + a0.y * b1_1 + a0.z * b2_1 + a0.w * b3_1;
    let a1 = a[ia + 1u * k4];
    acc1_0 += a1.x * b0_0 + a1.y * b1_0 + a1.z * b2_0 + a1.w * b3_0;
    acc1_1 += a1.x * b0_1 + a1.y * b1_1 + a1.z * b2_1 + a1.w * b3_1;
    ia += 1u; ib += 4u * n4;
  }
  c[(row0 + 0u) * n4 + cb0 + 0u * 1u] = acc0_0;
  c[(row0 + 0u) * n4 + cb0 + 1u * 1u] = acc0_1;
  c[(row0 + 1u) * n4 + cb0 + 0u * 1u] = acc1_0;
  c[(row0 + 1u) * n4 + cb0 + 1u * 1u] = acc1_1;
}
@compute @workgroup_size(WG_X, WG_Y)
fn v416(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n4 = params.n / 4u; let k4 = params.k / 4u;
  let row0 = (wg.y * WG_Y + lid.y) * 4u;
  let cb0 = (wg.x * WG_X + lid.x) * 4u;
  var ia = row0 * k4;
  var ib = cb0;
  var acc0_0 = vec4f(0.0);
  var acc0_1 = vec4f(0.0);
  var acc0_2 = vec4f(0.0);
  var acc0_3 = vec4f(0.0);
  var acc1_0 = vec4f(0.0);
  var acc1_1 = vec4f(0.0);
  var acc1_2 = vec4f(0.0);
  var acc1_3 = vec4f(0.0);
  var acc2_0 = vec4f(0.0);
  var acc2_1 = vec4f(0.0);
  var acc2_2 = vec4f(0.0);
  var acc2_3 = vec4f(0.0);
  var acc3_0 = vec4f(0.0);
  var acc3_1 = vec4f(0.0);
  var acc3_2 = vec4f(0.0);
  var acc3_3 = vec4f(0.0);
  for (var p = 0u; p < k4; p++) {
    let b0_0 = b[ib + 0u * n4 + 0u * 1u];
    let b0_1 = b[ib + 0u * n4 + 1u * 1u];
    let b0_2 = b[ib + 0u * n4 + 2u * 1u];
    let b0_3 = b[ib + 0u * n4 + 3u * 1u];
    let b1_0 = b[ib + 1u * n4 + 0u * 1u];
    let b1_1 = b[ib + 1u * n4 + 1u * 1u];
    let b1_2 = b[ib + 1u * n4 + 2u * 1u];
    let b1_3 = b[ib + 1u * n4 + 3u * 1u];
    let b2_0 = b[ib + 2u * n4 + 0u * 1u];
    let b2_1 = b[ib + 2u * n4 + 1u * 1u];
    let b2_2 = b[ib + 2u * n4 + 2u * 1u];
    let b2_3 = b[ib + 2u * n4 + 3u * 1u];
    let b3_0 = b[ib + 3u * n4 + 0u * 1u];
    let b3_1 = b[ib + 3u * n4 + 1u * 1u];
    let b3_2 = b[ib + 3u * n4 + 2u * 1u];
    let b3_3 = b[ib + 3u * n4 + 3u * 1u];
    let a0 = a[ia + 0u * k4];
    acc0_0 += a0.x * b0_0 + a0.y * b1_0 + a0.z * b2_0 + a0.w * b3_0;
    acc0_1 += a0.x * b0_1 + a0.y * b1_1 + a0.z * b2_1 + a0.w * b3_1;
    acc0_2 += a0.x * b0_2 + a0.y * b1_2 + a0.z * b2_2 + a0.w * b3_2;
    acc0_3 += a0.x * b0_3 + a0.y * b1_3 + a0.z * b2_3 + a0.w * b3_3;
    let a1 = a[ia + 1u * k4];
    acc1_0 += a1.x * b0_0 + a1.y * b1_0 + a1.z * b2_0 + a1.w * b3_0;
    acc1_1 += a1.x * b0_1 + a1.y * b1_1 + a1.z * b2_1 + a1.w * b3_1;
    acc1_2 += a1.x * b0_2 + a1.y * b1_2 + a1.z * b2_2 + a1.w * b3_2;
    acc1_3 += a1.x * b0_3 + a1.y * b1_3 + a1.z * b2_3 + a1.w * b3_3;
    let a2 = a[ia + 2u * k4];
    acc2_0 += a2.x * b0_0 + a2.y * b1_0 + a2.z * b2_0 + a2.w * b3_0;
    acc2_1 += a2.x * b0_1 + a2.y * b1_1 + a2.z * b2_1 + a2.w * b3_1;
    acc2_2 += a2.x * b0_2 + a2.y * b1_2 + a2.z * b2_2 + a2.w * b3_2;
    acc2_3 += a2.x * b0_3 + a2.y * b1_3 + a2.z * b2_3 + a2.w * b3_3;
    let a3 = a[ia + 3u * k4];
    acc3_0 += a3.x * b0_0 + a3.y * b1_0 + a3.z * b2_0 + a3.w * b3_0;
    acc3_1 += a3.x * b0_1 + a3.y * b1_1 + a3.z * b2_1 + a3.w * b3_1;
    acc3_2 += a3.x * b0_2 + a3.y * b1_2 + a3.z * b2_2 + a3.w * b3_2;
    acc3_3 += a3.x * b0_3 + a3.y * b1_3 + a3.z * b2_3 + a3.w * b3_3;
    ia += 1u; ib += 4u * n4;
  }
  c[(row0 + 0u) * n4 + cb0 + 0u * 1u] = acc0_0;
  c[(row0 + 0u) * n4 + cb0 + 1u * 1u] = acc0_1;
  c[(row0 + 0u) * n4 + cb0 + 2u * 1u] = acc0_2;
  c[(row0 + 0u) * n4 + cb0 + 3u * 1u] = acc0_3;
  c[(row0 + 1u) * n4 + cb0 + 0u * 1u] = acc1_0;
  c[(row0 + 1u) * n4 + cb0 + 1u * 1u] = acc1_1;
  c[(row0 + 1u) * n4 + cb0 + 2u * 1u] = acc1_2;
  c[(row0 + 1u) * n4 + cb0 + 3u * 1u] = acc1_3;
  c[(row0 + 2u) * n4 + cb0 + 0u * 1u] = acc2_0;
  c[(row0 + 2u) * n4 + cb0 + 1u * 1u] = acc2_1;
  c[(row0 + 2u) * n4 + cb0 + 2u * 1u] = acc2_2;
  c[(row0 + 2u) * n4 + cb0 + 3u * 1u] = acc2_3;
  c[(row0 + 3u) * n4 + cb0 + 0u * 1u] = acc3_0;
  c[(row0 + 3u) * n4 + cb0 + 1u * 1u] = acc3_1;
  c[(row0 + 3u) * n4 + cb0 + 2u * 1u] = acc3_2;
  c[(row0 + 3u) * n4 + cb0 + 3u * 1u] = acc3_3;
}