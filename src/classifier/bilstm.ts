import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SimpairError } from '../errors.ts';
import { assertTfBackendReady } from './tf-backend.ts';

/** Options of {@link buildBiLstm}. */
export interface BiLstmOptions {
  /** Tokens per pair (the embedder's maxLen); the model's input is `[maxLen, hidden]`. */
  readonly maxLen: number;
  /** Embedding width (768 for bert-base). */
  readonly hidden: number;
  /**
   * LSTM units per direction.
   * @default 64
   */
  readonly units?: number;
  /**
   * Seed for the weight initializers; the same seed gives the same initial weights, so
   * training on the same data in the same order gives the same losses.
   * @default undefined (unseeded, Math.random-based initial weights)
   */
  readonly seed?: number;
  /**
   * Put a `Masking(mask_value=0)` layer first, so the LSTMs skip padding positions. Only
   * meaningful with embeddings whose padding positions are zeros (the embedder's 'dynamic'
   * padding). Porting note: the recipe has no masking; this is simpair's own option.
   * @default false
   */
  readonly maskPadding?: boolean;
  /**
   * Keras' LSTM `dropout`: fraction of each LSTM's inputs dropped while training (one mask
   * per direction and batch, the same at every step). Not the recipe. The fused Bi-LSTM
   * supports it (see useFusedLstm).
   * @default 0
   */
  readonly dropout?: number;
  /**
   * Keras' LSTM `recurrent_dropout`: fraction of the recurrent state dropped while training.
   * Not the recipe. Porting note: simpair's fused Bi-LSTM has no recurrent dropout, so layers
   * with a rate above 0 train on tfjs-layers' own (slower) LSTM path; useFusedLstm logs and
   * records it.
   * @default 0
   */
  readonly recurrentDropout?: number;
  /**
   * 'recipe': Dense(1) on the Bi-LSTM's output. 'pooled' (not the recipe): a functional model
   * with a second input `pair_features` `[4 * hidden]` (see pairFeatures: `[u, v, |u-v|, u*v]`
   * of the two sentences' mean-pooled embeddings, SBERT's classification objective),
   * concatenated with the Bi-LSTM's output before Dense(1), so the classifier keeps the
   * sentence-level signal the encoder already has.
   * @default 'recipe'
   */
  readonly head?: 'recipe' | 'pooled';
}

/** The compile settings of the recipe, also written as `trainingConfig` in model.json. */
export const COMPILE_CONFIG = {
  optimizer: 'adam',
  loss: 'binaryCrossentropy',
  metrics: ['accuracy'],
} as const;

/**
 * Runs `fn` with tfjs' "Orthogonal initializer is being called on a matrix with more than
 * 2000 elements" warning silenced: every LSTM recurrent kernel ([units, 4*units] = 16384
 * elements) triggers it, on build and on load; Keras initialises the same way silently.
 */
export function withoutOrthogonalWarning<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Orthogonal initializer is being called')) return;
    warn(...args);
  };
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

function lstmLayer(units: number, returnSequences: boolean, seed: number | undefined, dropout = 0, recurrentDropout = 0): tfl.RNN {
  return tfl.layers.lstm({
    units,
    returnSequences,
    // 0 is tfjs' (and Keras') default: the recipe's config is unchanged.
    dropout,
    recurrentDropout,
    // Porting Note: tfjs' LSTM defaults differ from Keras 2 (tf.keras >= 2.0): tfjs uses
    // recurrentActivation 'hardSigmoid', kernelInitializer 'glorotNormal' and no unit
    // forget bias. Keras 2 uses sigmoid, glorot_uniform and unit_forget_bias=True; the
    // recipe relies on Keras' defaults, so they are spelled out here.
    activation: 'tanh',
    recurrentActivation: 'sigmoid',
    kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    recurrentInitializer: tfl.initializers.orthogonal({ gain: 1, seed }),
    biasInitializer: 'zeros',
    unitForgetBias: true,
  });
}

/**
 * Gives the backward LSTM of each Bidirectional its own initial weights. tfjs (like Keras)
 * clones the wrapped layer's config for both directions, so a seeded initializer would
 * start forward and backward from identical kernels; we redraw the backward ones from
 * seeds derived from `seed`, keeping the model reproducible.
 */
function reseedBackwardKernels(model: tfl.LayersModel, seed: number): void {
  model.weights.forEach((w, i) => {
    if (!w.originalName.includes('/backward_')) return;
    const derived = seed + 7919 * (i + 1);
    let init: ReturnType<typeof tfl.initializers.glorotUniform> | undefined;
    if (w.originalName.endsWith('/recurrent_kernel')) init = tfl.initializers.orthogonal({ gain: 1, seed: derived });
    else if (w.originalName.endsWith('/kernel')) init = tfl.initializers.glorotUniform({ seed: derived });
    if (init === undefined) return; // biases: zeros + unit forget bias, deterministic already
    w.write(init.apply(w.shape, 'float32')); // the caller's tidy frees the initial value
  });
}

/**
 * Builds and compiles the recipe's Bi-LSTM classifier:
 *
 * ```
 * Bidirectional(LSTM(units, return_sequences=True), input_shape=(maxLen, hidden))
 * Bidirectional(LSTM(units))
 * Dense(1, activation='sigmoid')
 * compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
 * ```
 *
 * `adam` is tfjs' Adam with Keras' defaults (learning rate 0.001, beta1 0.9, beta2 0.999,
 * epsilon 1e-7). Requires `await initTfBackend()` beforehand.
 *
 * @example
 * await initTfBackend();
 * const model = buildBiLstm({ maxLen: 64, hidden: 768, seed: 42 });
 * model.summary();
 */
export function buildBiLstm(options: BiLstmOptions): tfl.LayersModel {
  const { maxLen, hidden, units = 64, seed, maskPadding = false, dropout = 0, recurrentDropout = 0, head = 'recipe' } = options;
  assertTfBackendReady('buildBiLstm');
  for (const [name, value] of Object.entries({ maxLen, hidden, units })) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new SimpairError(`buildBiLstm: ${name} must be a positive integer, received ${value}.`);
    }
  }
  for (const [name, value] of Object.entries({ dropout, recurrentDropout })) {
    if (!(typeof value === 'number' && value >= 0 && value < 1)) {
      throw new SimpairError(`buildBiLstm: ${name} must be a number in [0, 1), received ${value}.`);
    }
  }
  if (seed !== undefined && !Number.isInteger(seed)) {
    throw new SimpairError(`buildBiLstm: seed must be an integer, received ${seed}.`);
  }
  if (head !== 'recipe' && head !== 'pooled') throw new SimpairError(`buildBiLstm: head must be 'recipe' or 'pooled', received ${head}.`);
  const dense = () =>
    tfl.layers.dense({
      units: 1,
      activation: 'sigmoid',
      // Porting Note: tfjs' Dense defaults to glorotNormal; Keras to glorot_uniform.
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 2 }),
      biasInitializer: 'zeros',
    });
  const lstms = () => [
    tfl.layers.bidirectional({ layer: lstmLayer(units, true, seed, dropout, recurrentDropout) }),
    tfl.layers.bidirectional({ layer: lstmLayer(units, false, seed === undefined ? undefined : seed + 1, dropout, recurrentDropout) }),
  ];
  if (head === 'pooled') {
    let pooled: tfl.LayersModel | undefined;
    tf.tidy(() => withoutOrthogonalWarning(() => {
      const tokens = tfl.input({ shape: [maxLen, hidden], name: 'tokens' });
      const pairs = tfl.input({ shape: [4 * hidden], name: 'pair_features' });
      let x = maskPadding ? (tfl.layers.masking({ maskValue: 0 }).apply(tokens) as tfl.SymbolicTensor) : tokens;
      for (const layer of lstms()) x = layer.apply(x) as tfl.SymbolicTensor;
      const joined = tfl.layers.concatenate().apply([x, pairs]) as tfl.SymbolicTensor;
      pooled = tfl.model({ inputs: [tokens, pairs], outputs: dense().apply(joined) as tfl.SymbolicTensor, name: 'simpair_bilstm_pooled' });
      if (seed !== undefined) reseedBackwardKernels(pooled, seed);
      pooled.compile({ ...COMPILE_CONFIG, metrics: [...COMPILE_CONFIG.metrics] });
    }));
    return pooled!;
  }
  let model: tfl.Sequential | undefined;
  // tf.tidy: tfjs' LSTMCell builds its unit-forget-bias initial value outside any tidy and
  // leaks 4 tensors per LSTM (16 for this model); variables survive a tidy, those do not.
  tf.tidy(() => withoutOrthogonalWarning(() => {
    model = tfl.sequential({ name: 'simpair_bilstm' });
    if (maskPadding) model.add(tfl.layers.masking({ maskValue: 0, inputShape: [maxLen, hidden] }));
    model.add(tfl.layers.bidirectional({ layer: lstmLayer(units, true, seed, dropout, recurrentDropout), ...(maskPadding ? {} : { inputShape: [maxLen, hidden] }) }));
    model.add(tfl.layers.bidirectional({ layer: lstmLayer(units, false, seed === undefined ? undefined : seed + 1, dropout, recurrentDropout) }));
    model.add(
      tfl.layers.dense({
        units: 1,
        activation: 'sigmoid',
        // Porting Note: tfjs' Dense defaults to glorotNormal; Keras to glorot_uniform.
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 2 }),
        biasInitializer: 'zeros',
      }),
    );
    if (seed !== undefined) reseedBackwardKernels(model, seed);
    model.compile({ ...COMPILE_CONFIG, metrics: [...COMPILE_CONFIG.metrics] });
  }));
  return model as tfl.Sequential;
}
