/**
 * The GPU check at the start of a Batch training job (training/entry.ts; here in src/ because
 * the training image copies src/ and the entry only). tfjs-node-gpu falls back to the CPU
 * without a word when TensorFlow finds no usable GPU (no NVIDIA runtime in the container, a
 * CUDA/cuDNN mismatch, a CPU instance): the job would then train for hours on the CPU. The
 * GPU job definition sets {@link EXPECT_GPU_ENV}; when it is set and TensorFlow uses no GPU
 * device, the job fails at once with what to check.
 */
import { SimpairError } from '../errors.ts';

/** Set to `1` by the GPU job definition (lib/gpu-training.ts): the job asked Batch for a GPU. */
export const EXPECT_GPU_ENV = 'SIMPAIR_EXPECT_GPU';

/** What the check needs from TF.js: the backend in use and, for `tensorflow`, its native binding. */
export interface TfDeviceProbe {
  /** tfjs backend name: `tensorflow`, `wasm` or `cpu`. */
  readonly backend: string;
  /** tfjs-node's binding: `isUsingGpuDevice()` says whether TensorFlow placed its context on a GPU. */
  readonly binding?: { isUsingGpuDevice?: () => boolean };
}

/** The device training runs on, as the run record names it. */
export type TrainingDevice = 'gpu' | 'cpu';

/**
 * The device TensorFlow trains on; throws when the job asked for a GPU and TensorFlow sees none.
 *
 * @example
 * trainingDevice({ backend: 'tensorflow', binding: { isUsingGpuDevice: () => true } }, { SIMPAIR_EXPECT_GPU: '1' }); // 'gpu'
 */
export function trainingDevice(probe: TfDeviceProbe, env: NodeJS.ProcessEnv = process.env): TrainingDevice {
  const device: TrainingDevice = probe.backend === 'tensorflow' && probe.binding?.isUsingGpuDevice?.() === true ? 'gpu' : 'cpu';
  if (env[EXPECT_GPU_ENV] === '1' && device !== 'gpu') {
    throw new SimpairError(
      `The job asked for a GPU (${EXPECT_GPU_ENV}=1, set by the GPU job definition) but TensorFlow sees none (TF.js backend "${probe.backend}"); ` +
        'refusing to train on the CPU. Check that the compute environment runs GPU instances (g4dn/g5) on the ECS GPU AMI, that the container ' +
        'gets the GPU (resourceRequirements GPU 1), and that the image loads @tensorflow/tfjs-node-gpu with its CUDA 11.2 / cuDNN 8 libraries ' +
        '(the job log shows TensorFlow\'s "Could not load dynamic library" lines). For CPU training deploy with -c trainingCompute=cpu.',
    );
  }
  return device;
}
