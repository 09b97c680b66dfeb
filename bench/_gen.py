import sys
hdr = '''struct Params { m: u32, n: u32, k: u32, pad: u32 }
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;
'''
def kern(name, R, C, interleave=False):
    L=[]
    L.append(f'@compute @workgroup_size(WG_X, WG_Y)\nfn {name}(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {{')
    L.append('  let n4 = params.n / 4u; let k4 = params.k / 4u;')
    L.append(f'  let row0 = (wg.y * WG_Y + lid.y) * {R}u;')
    if interleave:
        L.append(f'  let cb0 = wg.x * WG_X * {C}u + lid.x;'); cstep='WG_X'
    else:
        L.append(f'  let cb0 = (wg.x * WG_X + lid.x) * {C}u;'); cstep='1u'
    L.append('  var ia = row0 * k4;')
    L.append('  var ib = cb0;')
    for i in range(R):
        for j in range(C):
            L.append(f'  var acc{i}_{j} = vec4f(0.0);')
    L.append('  for (var p = 0u; p < k4; p++) {')
    for t in range(4):
        for j in range(C):
            L.append(f'    let b{t}_{j} = b[ib + {t}u * n4 + {j}u * {cstep}];')
    for i in range(R):
        L.append(f'    let a{i} = a[ia + {i}u * k4];')
        for j in range(C):
            L.append(f'    acc{i}_{j} += a{i}.x * b0_{j} + a{i}.y * b1_{j} + a{i}.z * b2_{j} + a{i}.w * b3_{j};')
    L.append('    ia += 1u; ib += 4u * n4;')
    L.append('  }')
    for i in range(R):
        for j in range(C):
            L.append(f'  c[(row0 + {i}u) * n4 + cb0 + {j}u * {cstep}] = acc{i}_{j};')
    L.append('}')
    return '\n'.join(L)
out = sys.argv[1]
ks = []
for spec in sys.argv[2:]:
    name, R, C, il = spec.split(':')
    ks.append(kern(name, int(R), int(C), il == 'i'))
open(out, 'w').write(hdr + '\n'.join(ks))
