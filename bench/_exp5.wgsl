struct Params { m: u32, n: u32, k: u32, pad: u32 }
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override ROWS: u32 = 16u;
override CB: u32 = 4u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;

@compute @workgroup_size(WG_X, WG_Y)
fn loopNN(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n4 = params.n / 4u; let k4 = params.k / 4u;
  let row0 = (wg.y * WG_Y + lid.y) * ROWS;
  let cb0 = (wg.x * WG_X + lid.x) * CB;
  var acc: array<vec4f, 64>;
  var bt: array<vec4f, 16>;
  for (var p = 0u; p < k4; p++) {
    let ib = 4u * p * n4 + cb0;
    for (var j = 0u; j < CB; j++) {
      bt[4u * j] = b[ib + j];
      bt[4u * j + 1u] = b[ib + n4 + j];
      bt[4u * j + 2u] = b[ib + 2u * n4 + j];
      bt[4u * j + 3u] = b[ib + 3u * n4 + j];
    }
    for (var i = 0u; i < ROWS; i++) {
      let av = a[(row0 + i) * k4 + p];
      for (var j = 0u; j < CB; j++) {
        acc[i * CB + j] += av.x * bt[4u * j] + av.y * bt[4u * j + 1u] + av.z * bt[4u * j + 2u] + av.w * bt[4u * j + 3u];
      }
    }
  }
  for (var i = 0u; i < ROWS; i++) {
    for (var j = 0u; j < CB; j++) {
      c[(row0 + i) * n4 + cb0 + j] = acc[i * CB + j];
    }
  }
}
