import src from '../shaders/matmul.wgsl?raw';
console.log(typeof src, src.length, src.slice(0, 40));
