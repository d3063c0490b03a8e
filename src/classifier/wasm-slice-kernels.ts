import * as tf from '@tensorflow/tfjs-core';

/** The part of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type TypedArray = Float32Array | Int32Array | Uint8Array;

/** Copies the `[begin, begin + size)` box of `x` (row-major, `strides`) into `out`, innermost rows at once. */
function copyBox(x: TypedArray, strides: number[], out: TypedArray, begin: number[], size: number[]): void {
  const rank = size.length;
  const inner = size[rank - 1];
  let outOffset = 0;
  const index = new Array<number>(rank - 1).fill(0);
  const rows = size.slice(0, -1).reduce((a, b) => a * b, 1);
  for (let row = 0; row < rows; row++) {
    let xOffset = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) xOffset += (begin[d] + index[d]) * strides[d];
    out.set(x.subarray(xOffset, xOffset + inner), outOffset);
    outOffset += inner;
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
}

/**
 * tfjs-backend-wasm 4.22's Slice kernel starts with `backend.readSync(x)`, a copy of the
 * WHOLE input out of the wasm heap, for every slice: `tf.unstack` of a `[64, 2, 32, 256]`
 * tensor copies it 64 times (measured 345 ms instead of under 1 ms). tfjs-layers' LSTM
 * unstacks its input and every `split` is a slice, so this hits LSTM training on wasm in
 * both the layers and the fused path. This kernel reads the input through a view of the
 * heap instead (taken after the output is allocated, since an allocation may grow and
 * replace the heap's buffer). String tensors keep the original kernel. Proven equal to
 * the original in test/classifier/wasm-slice-kernels.test.ts.
 */
export function wasmSlice(x: tf.TensorInfo, begin: number | number[], size: number | number[] | undefined, backend: WasmBackend): tf.TensorInfo {
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  const out = backend.makeOutput(size_, x.dtype);
  const outVals = backend.typedArrayFromHeap(out);
  if (outVals.length === 0) return out;
  const xVals = backend.typedArrayFromHeap(x);
  const strides = tf.util.computeStrides(x.shape);
  if (x.shape.length === 0) {
    outVals.set(xVals);
  } else if (tf.slice_util.isSliceContinous(x.shape, begin_, size_)) {
    const offset = tf.slice_util.computeFlatOffset(begin_, strides);
    outVals.set(xVals.subarray(offset, offset + outVals.length));
  } else {
    copyBox(xVals, strides, outVals, begin_, size_);
  }
  return out;
}

/** Unpack (`tf.unstack`) as tfjs-backend-wasm's, on {@link wasmSlice}. */
function wasmUnpack(value: tf.TensorInfo, axisAttr: number, backend: WasmBackend): tf.TensorInfo[] {
  const rank = value.shape.length;
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(rank).fill(0);
  const size = value.shape.slice();
  size[axis] = 1;
  const outs: tf.TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    begin[axis] = i;
    const { dataId, dtype } = wasmSlice(value, begin, size, backend);
    outs.push({ dataId, dtype, shape: outShape });
  }
  return outs;
}

/** SplitV (`tf.split`) as tfjs-backend-wasm's, on {@link wasmSlice}. */
function wasmSplitV(x: tf.TensorInfo, attrs: tf.SplitVAttrs, backend: WasmBackend): tf.TensorInfo[] {
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = x.shape.slice();
    size[axis] = s;
    const out = wasmSlice(x, begin, size, backend);
    begin[axis] += s;
    return out;
  });
}

let installed = false;

/**
 * Replaces the wasm backend's Slice, Unpack and SplitV kernels (numeric dtypes) by ones
 * built on {@link wasmSlice}: tfjs-backend-wasm's Unpack and SplitV call its Slice
 * function directly, so replacing Slice alone would not reach them. Idempotent.
 */
export function ensureWasmSliceKernels(): void {
  if (installed) return;
  const originals = [tf.Slice, tf.Unpack, tf.SplitV].map((name) => tf.getKernel(name, 'wasm'));
  if (originals.some((k) => k === undefined)) return; // wasm backend not registered
  installed = true;
  const replacements: Record<string, (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => tf.TensorInfo | tf.TensorInfo[]> = {
    [tf.Slice]: ({ inputs, backend, attrs }) => {
      const { begin, size } = attrs as unknown as tf.SliceAttrs;
      return wasmSlice(inputs.x!, begin, size, backend as WasmBackend);
    },
    [tf.Unpack]: ({ inputs, backend, attrs }) => wasmUnpack(inputs.value!, (attrs as unknown as tf.UnpackAttrs).axis, backend as WasmBackend),
    [tf.SplitV]: ({ inputs, backend, attrs }) => wasmSplitV(inputs.x!, attrs as unknown as tf.SplitVAttrs, backend as WasmBackend),
  };
  for (const original of originals as tf.KernelConfig[]) {
    tf.unregisterKernel(original.kernelName, 'wasm');
    const replacement = replacements[original.kernelName];
    tf.registerKernel({
      kernelName: original.kernelName,
      backendName: 'wasm',
      kernelFunc: (args) => (Object.values(args.inputs)[0]!.dtype === 'string' ? original.kernelFunc(args) : replacement(args)) as tf.TensorInfo,
    });
  }
}
