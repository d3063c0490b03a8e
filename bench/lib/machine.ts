import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';

/** Where and with what a bench ran, stored with every result file. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly packages: Record<string, string>;
}

const PACKAGES = [
  'onnxruntime-node',
  'onnxruntime-common',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-node',
  '@huggingface/tokenizers',
];

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':').slice(1).join(':').trim();
  } catch {
    // not Linux: fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

function packageVersion(require: NodeJS.Require, name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** CPU model (from /proc/cpuinfo), cores, memory, Node and the versions of the packages measured. */
export function machineInfo(root: string): MachineInfo {
  const require = createRequire(`${root}/package.json`);
  const packages: Record<string, string> = {
    simpair: (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { version: string }).version,
  };
  for (const name of PACKAGES) packages[name] = packageVersion(require, name);
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    packages,
  };
}

/** CPU time of the whole machine and of this process tree, in seconds (Linux /proc). */
export interface CpuSnapshot {
  readonly at: number;
  readonly machineBusy: number;
  readonly ours: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** Reads /proc/stat and /proc/self/stat; undefined off Linux. */
export function cpuSnapshot(): CpuSnapshot | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] ?? 0);
    const self = readFileSync('/proc/self/stat', 'utf8');
    const fields = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    // fields[11..14] = utime stime cutime cstime (cutime/cstime: children waited for)
    const ours = fields[11] + fields[12] + fields[13] + fields[14];
    return { at: performance.now(), machineBusy: busy / TICKS_PER_SECOND, ours: ours / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/**
 * How busy the machine was with work that is not this bench between two snapshots, in cores
 * on average: other users' jobs make every figure slower, so the results carry it.
 */
export function otherCpuLoad(from: CpuSnapshot | undefined, to: CpuSnapshot | undefined): number | undefined {
  if (!from || !to || to.at <= from.at) return undefined;
  const wall = (to.at - from.at) / 1000;
  return Math.max(0, to.machineBusy - from.machineBusy - (to.ours - from.ours)) / wall;
}
