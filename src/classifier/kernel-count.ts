import * as tf from '@tensorflow/tfjs-core';

/** Kernels run between {@link startKernelCount} and its `stop()`. */
export interface KernelCount {
  /** tfjs kernels the engine dispatched (what `tf.profile` lists), by name. */
  readonly tfjsKernels: number;
  /**
   * TensorFlow ops tfjs-node launched (tensorflow backend only): every tfjs kernel's TF
   * op(s) plus the ops the fused LSTM runs by name (BlockLSTMV2, LSTMBlockCellGrad,
   * BlockLSTMGradV2), which tfjs' profiler does not see. On a GPU each is a launch.
   */
  readonly tensorflowOps?: number;
  /** The most frequent names: tfjs kernels, and TF ops on the tensorflow backend. */
  readonly top: Record<string, number>;
}

interface EngineState {
  profiling: boolean;
  activeProfile: { kernels: { name: string }[] };
}

interface NodeBackend {
  executeSingleOutput(name: string, ...rest: unknown[]): unknown;
  executeMultipleOutputs(name: string, ...rest: unknown[]): unknown;
}

/**
 * Starts counting kernels on the current backend: tfjs' own profiling switch (the one
 * `tf.profile` turns on, which cannot span the awaits of a training loop) plus, on the
 * tensorflow backend, a count of the TF ops tfjs-node executes. `stop()` ends it and
 * restores everything. Counting costs time: count a step that is not timed.
 */
export function startKernelCount(): { stop(): KernelCount } {
  const engine = tf.engine() as unknown as { state: EngineState };
  const state = engine.state;
  const kernels: { name: string }[] = [];
  state.profiling = true;
  state.activeProfile.kernels = kernels;
  const names = new Map<string, number>();
  const bump = (name: string) => names.set(name, (names.get(name) ?? 0) + 1);
  let ops: number | undefined;
  const backend = tf.backend() as unknown as Partial<NodeBackend>;
  const wrapped: (keyof NodeBackend)[] = [];
  if (tf.getBackend() === 'tensorflow' && typeof backend.executeSingleOutput === 'function' && typeof backend.executeMultipleOutputs === 'function') {
    ops = 0;
    for (const method of ['executeSingleOutput', 'executeMultipleOutputs'] as const) {
      const original = backend[method]!;
      backend[method] = function (this: unknown, name: string, ...rest: unknown[]) {
        ops!++;
        bump(`tf:${name}`);
        return original.call(this, name, ...rest);
      };
      wrapped.push(method);
    }
  }
  return {
    stop(): KernelCount {
      state.profiling = false;
      for (const method of wrapped) delete backend[method]; // the prototype's again
      for (const k of kernels) bump(k.name);
      const top = Object.fromEntries([...names].sort((a, b) => b[1] - a[1]).slice(0, 12));
      return { tfjsKernels: kernels.length, ...(ops !== undefined ? { tensorflowOps: ops } : {}), top };
    },
  };
}
