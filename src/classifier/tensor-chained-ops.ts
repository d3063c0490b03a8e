import * as tf from '@tensorflow/tfjs-core';

/**
 * Ops whose chained form is `x.op(...args) === tf.op(x, ...args)`, as in tfjs-core's
 * `dist/public/chained_ops/*.js`.
 */
const SAME_NAME_OPS = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan', 'atan2',
  'atanh', 'avgPool', 'batchToSpaceND', 'batchNorm', 'broadcastTo', 'cast', 'ceil', 'clipByValue',
  'conv1d', 'conv2d', 'conv2dTranspose', 'cos', 'cosh', 'cumprod', 'cumsum', 'depthToSpace',
  'depthwiseConv2d', 'dilation2d', 'div', 'divNoNan', 'dot', 'elu', 'equal', 'erf', 'euclideanNorm',
  'exp', 'expandDims', 'expm1', 'fft', 'floor', 'floorDiv', 'gather', 'greater', 'greaterEqual',
  'ifft', 'irfft', 'isFinite', 'isInf', 'isNaN', 'leakyRelu', 'less', 'lessEqual',
  'localResponseNormalization', 'log', 'log1p', 'logSigmoid', 'logSoftmax', 'logSumExp',
  'logicalAnd', 'logicalNot', 'logicalOr', 'logicalXor', 'matMul', 'max', 'maxPool', 'maximum',
  'mean', 'min', 'minimum', 'mirrorPad', 'mod', 'mul', 'neg', 'norm', 'notEqual', 'oneHot',
  'onesLike', 'pad', 'pool', 'pow', 'prelu', 'prod', 'reciprocal', 'relu', 'relu6', 'reshape',
  'reverse', 'rfft', 'round', 'rsqrt', 'selu', 'separableConv2d', 'sigmoid', 'sign', 'sin', 'sinh',
  'slice', 'softmax', 'softplus', 'spaceToBatchND', 'split', 'sqrt', 'square', 'squaredDifference',
  'squeeze', 'step', 'stridedSlice', 'sub', 'sum', 'tan', 'tanh', 'tile', 'topk', 'transpose',
  'unique', 'unsortedSegmentSum', 'unstack', 'zerosLike',
] as const;

type Chained = (this: tf.Tensor, ...args: never[]) => unknown;

const SPECIAL_OPS: Record<string, Chained> = {
  as1D(this: tf.Tensor) { return tf.reshape(this, [this.size]); },
  as2D(this: tf.Tensor, r: number, c: number) { return tf.reshape(this, [r, c]); },
  as3D(this: tf.Tensor, r: number, c: number, d: number) { return tf.reshape(this, [r, c, d]); },
  as4D(this: tf.Tensor, r: number, c: number, d: number, d2: number) { return tf.reshape(this, [r, c, d, d2]); },
  as5D(this: tf.Tensor, r: number, c: number, d: number, d2: number, d3: number) {
    return tf.reshape(this, [r, c, d, d2, d3]);
  },
  asScalar(this: tf.Tensor) { return tf.reshape(this, []); },
  asType(this: tf.Tensor, dtype: tf.DataType) { return tf.cast(this, dtype); },
  flatten(this: tf.Tensor) { return tf.reshape(this, [this.size]); },
  reshapeAs(this: tf.Tensor, x: tf.Tensor) { return tf.reshape(this, x.shape); },
  toBool(this: tf.Tensor) { return tf.cast(this, 'bool'); },
  toFloat(this: tf.Tensor) { return tf.cast(this, 'float32'); },
  toInt(this: tf.Tensor) { return tf.cast(this, 'int32'); },
  concat(this: tf.Tensor, x: tf.Tensor | tf.Tensor[], axis?: number) {
    return tf.concat([this, ...(Array.isArray(x) ? x : [x])], axis);
  },
  stack(this: tf.Tensor, x: tf.Tensor | tf.Tensor[], axis?: number) {
    return tf.stack([this, ...(Array.isArray(x) ? x : [x])], axis);
  },
  where(this: tf.Tensor, condition: tf.Tensor, x: tf.Tensor) { return tf.where(condition, this, x); },
  resizeBilinear(this: tf.Tensor, size: [number, number], alignCorners?: boolean, halfPixelCenters?: boolean) {
    return tf.image.resizeBilinear(this as tf.Tensor3D, size, alignCorners, halfPixelCenters);
  },
  resizeNearestNeighbor(this: tf.Tensor, size: [number, number], alignCorners?: boolean, halfPixelCenters?: boolean) {
    return tf.image.resizeNearestNeighbor(this as tf.Tensor3D, size, alignCorners, halfPixelCenters);
  },
};

let done = false;

/**
 * Installs tfjs' chained tensor methods (`x.flatten()`, `x.reshape(...)`) when nothing did.
 *
 * Why: `@tensorflow/tfjs-core`'s Node entry (`dist/tf-core.node.js`) registers neither the
 * chained ops nor the gradients; the `@tensorflow/tfjs` umbrella (and so tfjs-node) imports
 * them as ES-module side effects. tfjs-layers' Node bundle carries the gradients but calls
 * chained methods (e.g. `Orthogonal` calls `r.flatten()`), so with core + layers alone,
 * building an LSTM fails with "rMat.flatten is not a function". tfjs-core's own
 * `register_all_chained_ops.js` cannot be imported in Node (extensionless relative
 * imports), hence this table. Methods already present (umbrella loaded) are kept.
 */
export function ensureChainedOps(): void {
  if (done) return;
  // The class tensors are made with; normally tf.Tensor itself, but a second tfjs-core
  // copy (ESM next to CJS) shares the engine through globalThis and may not share it.
  const probe = tf.scalar(0);
  const prototypes = new Set<Record<string, unknown>>([
    tf.Tensor.prototype as unknown as Record<string, unknown>,
    Object.getPrototypeOf(probe) as Record<string, unknown>,
  ]);
  probe.dispose();
  const ops = tf as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const proto of prototypes) {
    for (const name of SAME_NAME_OPS) {
      const op = ops[name];
      if (typeof proto[name] === 'function' || typeof op !== 'function') continue;
      proto[name] = function (this: tf.Tensor, ...args: unknown[]) {
        this.throwIfDisposed();
        return op(this, ...args);
      };
    }
    for (const [name, fn] of Object.entries(SPECIAL_OPS)) {
      if (typeof proto[name] === 'function') continue;
      proto[name] = function (this: tf.Tensor, ...args: never[]) {
        this.throwIfDisposed();
        return fn.apply(this, args);
      };
    }
  }
  done = true;
}
