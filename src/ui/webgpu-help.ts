// What each WebGPU failure means and what the user can do about it (docs/lab-ux.md lists the cases).
import type { GpuStatus } from './gpu-session.ts';

export interface FailureHelp {
  title: string;
  explanation: string;
  whatToDo: string[];
}

type FailureKind = Extract<GpuStatus, { state: 'cpu-fallback' }>['kind'] | 'device-lost';

export const FAILURE_HELP: Record<FailureKind, FailureHelp> = {
  'no-navigator-gpu': {
    title: 'This browser has no WebGPU (navigator.gpu is missing)',
    explanation: 'The browser is too old for WebGPU, or WebGPU is switched off in it.',
    whatToDo: [
      'Use a recent Chrome or Edge (version 113 or later), or a recent Safari or Firefox with WebGPU enabled.',
      'On Linux, Chrome may need chrome://flags/#enable-unsafe-webgpu and chrome://flags/#enable-vulkan.',
    ],
  },
  'insecure-context': {
    title: 'This page is not a secure context',
    explanation: 'Browsers offer WebGPU only to pages served over https:// or from this machine (http://localhost, http://127.0.0.1).',
    whatToDo: [
      'Open the lab at http://localhost or http://127.0.0.1 (npm run dev prints the address), or serve it over https://.',
      'A LAN address such as http://192.168.x.x or a file:// URL is not secure, so WebGPU is hidden there.',
    ],
  },
  'no-adapter': {
    title: 'WebGPU exists, but the browser offered no GPU adapter',
    explanation: 'Common on Linux: the GPU or its driver is blocklisted, the drivers are missing, or WebGPU is disabled.',
    whatToDo: [
      'Open chrome://gpu and look at the "WebGPU" line; update the GPU drivers if it says "disabled".',
      'On Linux, try chrome://flags/#enable-unsafe-webgpu and chrome://flags/#enable-vulkan, then restart the browser.',
      'Headless or GPU-less machines: start Chromium with --enable-unsafe-webgpu (software WebGPU through SwiftShader).',
    ],
  },
  'request-device-failed': {
    title: 'A GPU adapter was found, but creating a device failed',
    explanation: 'The adapter refused the device the lab asked for, or the browser’s GPU process failed.',
    whatToDo: ['Reload the page.', 'If it happens again, restart the browser or update the GPU drivers, and report the message below.'],
  },
  'no-node-gpu': {
    title: 'No WebGPU bindings',
    explanation: 'The engine is running outside a browser without the Node WebGPU bindings.',
    whatToDo: ['Install the npm package "webgpu" and a Vulkan driver, or use the lab in a browser.'],
  },
  unexpected: {
    title: 'WebGPU failed unexpectedly',
    explanation: 'Starting WebGPU threw an error the lab did not expect.',
    whatToDo: ['Reload the page; if it happens again, report the message below.'],
  },
  'device-lost': {
    title: 'The WebGPU device was lost',
    explanation:
      'The GPU stopped serving this page: a driver reset, a crash of the browser’s GPU process, or the browser reclaiming the GPU (for example after the tab slept).',
    whatToDo: [
      'Press “Try WebGPU again” to ask for a new device.',
      'If the loss repeats, reload the page or restart the browser; very large models can also exhaust GPU memory.',
    ],
  },
};

export const CPU_FALLBACK_NOTE =
  'The lab then runs on the CPU backend: everything works, only slower, and wall-clock figures are not representative of a GPU.';

/** The two CPU backends the lab can use, as offered in the banner and the WebGPU status panel. */
export const CPU_BACKEND_CHOICES = [
  {
    prefer: 'wasm',
    label: 'fast CPU (WebAssembly)',
    about: 'float32 kernels in WebAssembly SIMD: the quickest way to train without a GPU.',
  },
  {
    prefer: 'cpu',
    label: 'reference CPU (float64, slow)',
    about: 'plain JavaScript in double precision: the yardstick the other backends are tested against.',
  },
] as const;
