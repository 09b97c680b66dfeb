// Node only: the `webgpu` npm package (Dawn) on Vulkan. On a machine without a GPU we point the
// Vulkan loader at SwiftShader, the software driver that ships with Chromium.
// Imported dynamically by create-backend.ts, never bundled for the browser.
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Environment variable naming a Vulkan ICD json to use, overriding discovery. */
export const ICD_ENV = 'KFAC_VULKAN_ICD';

const LIBVULKAN_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/usr/local/lib',
  '/lib/x86_64-linux-gnu',
];

export function findSwiftShaderIcd(): string | null {
  const candidates = [
    '/usr/lib/chromium/vk_swiftshader_icd.json',
    '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
    '/opt/google/chrome/vk_swiftshader_icd.json',
  ];
  const pw = join(homedir(), '.cache', 'ms-playwright');
  if (existsSync(pw)) {
    for (const dir of readdirSync(pw)
      .filter((d) => d.startsWith('chromium'))
      .sort()
      .reverse()) {
      for (const sub of ['chrome-linux', 'chrome-linux64', 'chrome-headless-shell-linux64'])
        candidates.push(join(pw, dir, sub, 'vk_swiftshader_icd.json'));
    }
  }
  return candidates.find((c) => existsSync(c)) ?? null;
}

function hasHardwareGpu(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

function hasVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  return LIBVULKAN_DIRS.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

let processGpu: GPU | null = null;

export interface NodeGpu {
  gpu: GPU;
  /** How the Vulkan driver was chosen, for the backend's summary. */
  driverNote: string;
}

/** Returns the Dawn GPU object, or a reason why there is none. */
export async function nodeGpu(): Promise<NodeGpu | { reason: string }> {
  if (process.platform === 'linux' && !hasVulkanLoader()) {
    return { reason: 'the Vulkan loader libvulkan.so.1 is missing (Debian: apt-get install libvulkan1)' };
  }
  let driverNote = 'system Vulkan drivers';
  if (process.platform === 'linux') {
    const override = process.env[ICD_ENV];
    if (override) {
      if (!existsSync(override)) return { reason: `${ICD_ENV}=${override} does not exist` };
      process.env.VK_ICD_FILENAMES = override;
      driverNote = `${ICD_ENV}=${override}`;
    } else if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) {
      driverNote = 'VK_ICD_FILENAMES/VK_DRIVER_FILES from the environment';
    } else if (!hasHardwareGpu()) {
      const icd = findSwiftShaderIcd();
      if (!icd) return { reason: 'no GPU and no SwiftShader found (Debian: apt-get install chromium; or set KFAC_VULKAN_ICD)' };
      process.env.VK_ICD_FILENAMES = icd;
      driverNote = `SwiftShader (${icd})`;
    }
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
  }
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    const name = 'webgpu';
    mod = (await import(/* @vite-ignore */ name)) as typeof mod;
  } catch (e) {
    return { reason: `the npm package "webgpu" could not be loaded: ${(e as Error).message}` };
  }
  // Dawn's constants (GPUBufferUsage, GPUMapMode, ...) become globals as in a browser.
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const flags = process.platform === 'linux' ? ['backend=vulkan'] : [];
  // One Dawn instance per process, held here: nothing else references the GPU object once the
  // device exists, and if it is garbage-collected Dawn frees the instance under live devices
  // (segfaults in InstanceBase::ProcessEvents during long-running GPU work).
  processGpu ??= mod.create(flags);
  return { gpu: processGpu, driverNote };
}
