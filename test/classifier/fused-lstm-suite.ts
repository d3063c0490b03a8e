// Test helper (not a test file): the fused-vs-layers equivalence suite, run once per
// TF.js backend by fused-lstm.<backend>.test.ts (each test file is its own process, so
// each can force its backend before initTfBackend).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { buildBiLstm, withoutOrthogonalWarning } from '../../src/classifier/bilstm.ts';
import { useFusedLstm, type LstmPath } from '../../src/classifier/fused-lstm/use-fused-lstm.ts';
import { LSTM_BACKWARD_ENV } from '../../src/classifier/fused-lstm/bilstm-tensorflow.ts';
import { seededRandom } from '../../src/classifier/seeded-random.ts';
import { trainClassifier } from '../../src/classifier/train.ts';
import { writeSyntheticStore } from './synthetic-store.ts';

const HIDDEN = 12;
const UNITS = 6;

/** One `Bidirectional(LSTM(UNITS))` with Keras' defaults, optionally behind Masking(0). */
function singleLayerModel(maxLen: number, returnSequences: boolean, masked: boolean, seed: number, dropout = 0): tfl.LayersModel {
  let model: tfl.Sequential | undefined;
  tf.tidy(() =>
    withoutOrthogonalWarning(() => {
      model = tfl.sequential();
      if (masked) model!.add(tfl.layers.masking({ maskValue: 0, inputShape: [maxLen, HIDDEN] }));
      const lstm = tfl.layers.lstm({
        units: UNITS,
        returnSequences,
        recurrentActivation: 'sigmoid',
        kernelInitializer: tfl.initializers.glorotUniform({ seed }),
        recurrentInitializer: tfl.initializers.orthogonal({ gain: 1, seed: seed + 1 }),
        unitForgetBias: true,
        dropout,
      });
      model!.add(tfl.layers.bidirectional({ layer: lstm, ...(masked ? {} : { inputShape: [maxLen, HIDDEN] }) }));
      // Different forward/backward weights and non-trivial biases, so a mix-up of directions or gates shows.
      const random = seededRandom(seed + 2);
      for (const w of model!.trainableWeights) {
        const shape = w.shape as number[];
        const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (random() - 0.5) * 1.2);
        w.write(tf.tensor(values, shape));
      }
    }),
  );
  return model!;
}

/** Random inputs; with `masked`, each row is right-padded with zeros to a random length (0..maxLen). */
function inputs(batch: number, maxLen: number, masked: boolean, seed: number): tf.Tensor3D {
  const random = seededRandom(seed);
  const data = new Float32Array(batch * maxLen * HIDDEN);
  for (let b = 0; b < batch; b++) {
    const length = masked ? (b === 0 ? maxLen : Math.floor(random() * (maxLen + 1))) : maxLen;
    for (let t = 0; t < length; t++) {
      for (let h = 0; h < HIDDEN; h++) data[(b * maxLen + t) * HIDDEN + h] = random() * 2 - 1;
    }
  }
  return tf.tensor3d(data, [batch, maxLen, HIDDEN]);
}

/** Output, and the gradient of every trainable weight, of `sum(output * projection)`. */
function outputAndGradients(model: tfl.LayersModel, x: tf.Tensor3D, projection: tf.Tensor) {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const output = tf.tidy(() => (model.apply(x) as tf.Tensor).dataSync());
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, projection)) as tf.Scalar, variables);
  const gradients = variables.map((v) => ({ name: v.name, values: grads[v.name].dataSync() }));
  tf.dispose([value, ...Object.values(grads)]);
  return { output, gradients };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** max |a - b| / max |a|: the error relative to the gradient's scale. */
function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  return maxAbsDiff(a, b) / Math.max(scale, 1e-12);
}

/**
 * Runs `f` with the tensorflow path's backward pass forced to `kind` (SIMPAIR_LSTM_BACKWARD),
 * or with the default when `kind` is undefined.
 */
function withBackward<T>(kind: 'cell' | 'sequence' | 'generic' | undefined, f: () => T): T {
  const before = process.env[LSTM_BACKWARD_ENV];
  if (kind) process.env[LSTM_BACKWARD_ENV] = kind;
  else delete process.env[LSTM_BACKWARD_ENV];
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env[LSTM_BACKWARD_ENV];
    else process.env[LSTM_BACKWARD_ENV] = before;
  }
}

/** The tensorflow path's backward passes, each proven against tfjs-layers. */
const TENSORFLOW_BACKWARDS = ['cell', 'sequence', 'generic'] as const;

/**
 * The fused path equals tfjs-layers' LSTM: outputs, gradients of every weight, whole
 * trainings. `expectedPath` is the path the backend takes for unmasked layers.
 */
export function fusedLstmEquivalenceSuite(expectedPath: LstmPath): void {
  const cases: [batch: number, maxLen: number, returnSequences: boolean, masked: boolean][] = [];
  for (const batch of [1, 7, 32]) for (const maxLen of [1, 3, 64]) for (const rs of [true, false]) for (const masked of [false, true]) cases.push([batch, maxLen, rs, masked]);

  describe('fused Bidirectional(LSTM) = tfjs-layers Bidirectional(LSTM)', () => {
    it.each(cases)('batch %i, maxLen %i, returnSequences %s, masked %s: outputs within 1e-5, weight gradients within 1e-4', (batch, maxLen, returnSequences, masked) => {
      const seed = batch * 1000 + maxLen * 10 + (returnSequences ? 1 : 0) + (masked ? 5 : 0);
      const model = singleLayerModel(maxLen, returnSequences, masked, seed);
      const x = inputs(batch, maxLen, masked, seed + 3);
      const outShape = returnSequences ? [batch, maxLen, 2 * UNITS] : [batch, 2 * UNITS];
      const projection = tf.randomNormal(outShape, 0, 1, 'float32', seed + 4);
      const before = tf.memory().numTensors;

      const layers = outputAndGradients(model, x, projection);
      const fused = useFusedLstm(model, { mode: 'fused' });
      expect(fused.paths).toEqual([masked && expectedPath === 'fused-tensorflow' ? 'fused-generic' : expectedPath]);
      // SIMPAIR_LSTM=generic: the generic path on every backend; on tensorflow it is a second fused path to prove.
      const generic = useFusedLstm(model, { mode: 'generic' });
      expect(generic.paths).toEqual(['fused-generic']);
      let viaGeneric: ReturnType<typeof outputAndGradients> | undefined;
      try {
        if (expectedPath === 'fused-tensorflow' && !masked) viaGeneric = outputAndGradients(model, x, projection);
      } finally {
        generic.restore();
      }
      // On tensorflow, unmasked: each backward pass of the TF-kernel path (LSTMBlockCellGrad per
      // step, BlockLSTMGradV2 per direction); elsewhere the one fused path.
      const kinds = expectedPath === 'fused-tensorflow' && !masked ? TENSORFLOW_BACKWARDS : ([undefined] as const);
      const viaKinds: ReturnType<typeof outputAndGradients>[] = [];
      try {
        for (const kind of kinds) viaKinds.push(withBackward(kind, () => outputAndGradients(model, x, projection)));
      } finally {
        fused.restore();
      }
      expect(tf.memory().numTensors).toBe(before); // no path leaks
      for (const [k, viaFused] of viaKinds.entries()) {
        const kind = kinds[k] ?? 'default';
        expect({ kind, output: maxAbsDiff(layers.output, viaFused.output) <= 1e-5 }).toEqual({ kind, output: true });
        expect(viaFused.gradients.map((g) => g.name)).toEqual(layers.gradients.map((g) => g.name));
        layers.gradients.forEach((g, i) => {
          expect({ kind, weight: g.name, relative: relativeDiff(g.values, viaFused.gradients[i].values) <= 1e-4 }).toEqual({ kind, weight: g.name, relative: true });
        });
      }
      const viaFused = viaKinds[0];
      expect(maxAbsDiff(layers.output, viaFused.output)).toBeLessThanOrEqual(1e-5);
      if (viaGeneric) {
        expect(maxAbsDiff(layers.output, viaGeneric.output)).toBeLessThanOrEqual(1e-5);
        layers.gradients.forEach((g, i) => expect(relativeDiff(g.values, viaGeneric.gradients[i].values)).toBeLessThanOrEqual(1e-4));
      }
      expect(viaFused.gradients.map((g) => g.name)).toEqual(layers.gradients.map((g) => g.name));
      expect(layers.gradients).toHaveLength(6); // kernel, recurrent kernel, bias per direction
      layers.gradients.forEach((g, i) => {
        expect({ weight: g.name, relative: relativeDiff(g.values, viaFused.gradients[i].values) <= 1e-4 }).toEqual({ weight: g.name, relative: true });
      });
      // After restore() the model is tfjs-layers' own again.
      expect(maxAbsDiff(outputAndGradients(model, x, projection).output, layers.output)).toBe(0);
      tf.dispose([x, projection]);
      model.dispose();
    });
  });

  describe('fused Bidirectional(LSTM) with input dropout = tfjs-layers with the same dropout masks', () => {
    /**
     * A seeded stand-in for tf.dropout (tfjs-layers' LSTMCell `dropoutFunc` hook): the n-th
     * mask drawn is a function of n only, so both paths get the same masks if, and only if,
     * they draw them in the same order and use the same ones (forward's, then backward's).
     */
    function seededDropout(): { func: (ones: tf.Tensor, rate: number) => tf.Tensor; reset(): void } {
      let n = 0;
      return {
        func: (ones, rate) => tf.tidy(() => tf.div(tf.mul(ones, tf.cast(tf.greaterEqual(tf.randomUniform(ones.shape, 0, 1, 'float32', 7000 + n++), rate), 'float32')), 1 - rate)),
        reset: () => void (n = 0),
      };
    }
    type Cell = { dropoutFunc?: unknown };
    const dropoutCases: [maxLen: number, returnSequences: boolean, masked: boolean][] = [];
    for (const maxLen of [1, 5]) for (const rs of [true, false]) for (const masked of [false, true]) dropoutCases.push([maxLen, rs, masked]);

    it.each(dropoutCases)('maxLen %i, returnSequences %s, masked %s: training outputs within 1e-5, weight gradients within 1e-4', (maxLen, returnSequences, masked) => {
      const batch = 7;
      const seed = 500 + maxLen * 10 + (returnSequences ? 1 : 0) + (masked ? 5 : 0);
      const model = singleLayerModel(maxLen, returnSequences, masked, seed, 0.3);
      const bi = model.layers.find((l) => l.getClassName() === 'Bidirectional') as unknown as { forwardLayer: { cell: Cell }; backwardLayer: { cell: Cell } };
      const dropout = seededDropout();
      bi.forwardLayer.cell.dropoutFunc = dropout.func;
      bi.backwardLayer.cell.dropoutFunc = dropout.func;
      const x = inputs(batch, maxLen, masked, seed + 3);
      const projection = tf.randomNormal(returnSequences ? [batch, maxLen, 2 * UNITS] : [batch, 2 * UNITS], 0, 1, 'float32', seed + 4);
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const trainingRun = () => {
        dropout.reset();
        let output: Float32Array | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const y = model.apply(x, { training: true }) as tf.Tensor;
          output = y.dataSync() as Float32Array;
          return tf.sum(tf.mul(y, projection)) as tf.Scalar;
        }, variables);
        const gradients = variables.map((v) => grads[v.name].dataSync());
        tf.dispose([value, ...Object.values(grads)]);
        return { output: output!, gradients };
      };
      const inference = () => tf.tidy(() => (model.apply(x) as tf.Tensor).dataSync());

      const layers = trainingRun();
      const layersInference = inference();
      const fused = useFusedLstm(model, { mode: 'fused' });
      const kinds = expectedPath === 'fused-tensorflow' && !masked ? TENSORFLOW_BACKWARDS : ([undefined] as const);
      const viaKinds: ReturnType<typeof trainingRun>[] = [];
      let fusedInference: ReturnType<typeof inference>;
      try {
        expect(fused.summary).not.toContain('on layers');
        for (const kind of kinds) viaKinds.push(withBackward(kind, trainingRun));
        fusedInference = inference();
      } finally {
        fused.restore();
      }
      // The masks really dropped something: training output differs from inference.
      expect(maxAbsDiff(layers.output, layersInference)).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(layersInference, fusedInference)).toBeLessThanOrEqual(1e-5);
      for (const [k, viaFused] of viaKinds.entries()) {
        const kind = kinds[k] ?? 'default';
        expect({ kind, output: maxAbsDiff(layers.output, viaFused.output) <= 1e-5 }).toEqual({ kind, output: true });
        layers.gradients.forEach((g, i) => expect({ kind, weight: i, ok: relativeDiff(g, viaFused.gradients[i]) <= 1e-4 }).toEqual({ kind, weight: i, ok: true }));
      }
      tf.dispose([x, projection]);
      model.dispose();
    });

    it('keeps layers with recurrent dropout on the layers path, and says why', () => {
      const model = buildBiLstm({ maxLen: 3, hidden: HIDDEN, units: 4, seed: 1, recurrentDropout: 0.2 });
      const fused = useFusedLstm(model, { mode: 'fused' });
      try {
        expect(fused.paths).toEqual(['layers', 'layers']);
        expect(fused.summary).toContain('recurrentDropout');
      } finally {
        fused.restore();
        model.dispose();
      }
    });

    it('gives a dropout layer upstream of a trainable layer its input gradient (two stacked layers train the same on both paths)', () => {
      const model = buildBiLstm({ maxLen: 4, hidden: HIDDEN, units: 4, seed: 2, dropout: 0.25 });
      const dropout = seededDropout();
      for (const l of model.layers.filter((l) => l.getClassName() === 'Bidirectional') as unknown as { forwardLayer: { cell: Cell }; backwardLayer: { cell: Cell } }[]) {
        l.forwardLayer.cell.dropoutFunc = dropout.func;
        l.backwardLayer.cell.dropoutFunc = dropout.func;
      }
      const x = inputs(5, 4, false, 11);
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const grads = () => {
        dropout.reset();
        const { value, grads: g } = tf.variableGrads(() => tf.sum(model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, variables);
        const out = variables.map((v) => g[v.name].dataSync());
        tf.dispose([value, ...Object.values(g)]);
        return out;
      };
      const layers = grads();
      const fused = useFusedLstm(model, { mode: 'fused' });
      let viaFused: Float32Array[] | Int32Array[] | Uint8Array[];
      try {
        viaFused = grads() as Float32Array[];
      } finally {
        fused.restore();
      }
      layers.forEach((g, i) => expect({ weight: variables[i].name, ok: relativeDiff(g, viaFused[i]) <= 1e-4 }).toEqual({ weight: variables[i].name, ok: true }));
      x.dispose();
      model.dispose();
    });
  });

  describe('trainClassifier on the fused path = on the layers path', () => {
    it('trains a model with input dropout on the fused path, and its loss falls', async () => {
      const { reader } = await writeSyntheticStore({ maxLen: 5, hidden: HIDDEN, shardSizes: [48], seed: 8 });
      const model = buildBiLstm({ maxLen: 5, hidden: HIDDEN, units: 8, seed: 4, dropout: 0.2 });
      const history = await trainClassifier(model, reader, { epochs: 8, batchSize: 16, seed: 3, validationSplit: 0, lstm: 'fused' });
      expect(history.lstmPath).toBe(expectedPath);
      expect(history.epochs.at(-1)!.loss).toBeLessThan(history.epochs[0].loss);
      model.dispose();
    });

    for (const maskPadding of [false, true]) {
      it(`gives the same losses for two seeded epochs (maskPadding ${maskPadding}) and leaks no tensors`, async () => {
        const { reader } = await writeSyntheticStore({ maxLen: 6, hidden: HIDDEN, shardSizes: [40, 33], seed: 5 });
        const losses: Record<string, number[]> = {};
        for (const lstm of ['layers', 'fused'] as const) {
          const model = buildBiLstm({ maxLen: 6, hidden: HIDDEN, units: 8, seed: 9, maskPadding });
          const counts: number[] = [];
          const history = await trainClassifier(model, reader, {
            epochs: 2,
            batchSize: 16,
            seed: 3,
            lstm,
            onEpochEnd: () => void counts.push(tf.memory().numTensors),
          });
          expect(history.lstmPath).toContain(lstm === 'layers' ? 'layers' : 'fused');
          expect(counts[1]).toBe(counts[0]); // flat across epochs
          losses[lstm] = history.epochs.flatMap((e) => [e.loss, e.val_loss!, e.acc, e.val_acc!]);
          model.dispose();
        }
        expect(maxAbsDiff(losses.layers, losses.fused)).toBeLessThanOrEqual(1e-4);
      });
    }
  });
}
