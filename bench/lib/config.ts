/** Sizes of every measurement, per mode. One place, so the README can quote them. */
export type BenchMode = 'quick' | 'full';

export interface EmbeddingGrid {
  readonly models: readonly string[];
  readonly batchSizes: readonly number[];
  readonly maxLens: readonly number[];
  readonly onnxFiles: readonly ('onnx/model.onnx' | 'onnx/model_quantized.onnx')[];
  readonly paddings: readonly ('max-length' | 'dynamic')[];
  /** Pairs per configuration (MRPC train, from the top), unless the time cap ends it first. */
  readonly pairs: number;
  /** Stop a configuration after this many seconds (at least one batch after the warm-up). */
  readonly secondsCap: number;
}

export interface BenchSizes {
  readonly tokenizerPairs: number;
  readonly embedding: EmbeddingGrid;
  /**
   * Training per path (TF.js backend x LSTM path, and Keras on the same embeddings): rows
   * of MRPC train (Infinity = all), test rows, epochs, and how many alternating rounds.
   */
  readonly training: { readonly rows: number; readonly testRows: number; readonly epochs: number; readonly rounds: number; readonly paths: readonly TrainingPath[] };
  /** Accuracy report: rows (Infinity = all), epochs; maxLen, batch and seed are shared below. */
  readonly accuracy: { readonly trainRows: number; readonly testRows: number; readonly epochs: number };
  /**
   * Accuracy by head (issue 11): every variant of HEAD_VARIANTS and the Keras recipe, once per
   * seed, on the same stores (max-length padding, pooled vectors stored beside the tokens).
   */
  readonly heads: { readonly trainRows: number; readonly testRows: number; readonly epochs: number; readonly seeds: readonly number[] };
  /**
   * Prediction through `simpair serve`: cold starts and warm requests per path, and the grid
   * of encoders (each with its maxLen) x ONNX files run on the old (TF.js classifier) and new
   * (classifier.onnx) paths.
   */
  readonly prediction: { readonly warmRequests: number; readonly coldStarts: number; readonly encoders: readonly PredictionEncoder[]; readonly onnxFiles: EmbeddingGrid['onnxFiles'] };
  readonly maxLen: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly validationSplit: number;
  /** Pairs the Python reference embeds for its throughput figures. */
  readonly referenceEmbedPairs: number;
  readonly interopPairs: number;
  /** Data path at bert-base shape: synthetic shards of [maxLen, hidden] rows. */
  readonly datapath: { readonly shards: number; readonly rowsPerShard: number; readonly maxLen: number; readonly hidden: number };
}

/**
 * One classifier configuration of the heads stage: the options `simpair run` takes for it
 * (`--head`, `--dropout`, `--recurrent-dropout`, `--class-weight`). Not given = the recipe's.
 */
export interface HeadVariant {
  readonly name: string;
  readonly head: 'recipe' | 'pooled';
  readonly dropout?: number;
  readonly recurrentDropout?: number;
  /** 'balanced' = scikit-learn's rows / (2 * rows of the class) over the training rows, as `--class-weight balanced`. */
  readonly classWeight?: 'balanced';
}

/**
 * The variants of the heads stage, in table order. The regularised recipe's options live here
 * only: change them here and the table follows. Input dropout trains on the fused path.
 */
export const HEAD_VARIANTS: readonly HeadVariant[] = [
  { name: 'recipe', head: 'recipe' },
  { name: 'recipe + dropout 0.2', head: 'recipe', dropout: 0.2 },
  { name: 'recipe + balanced class weights', head: 'recipe', classWeight: 'balanced' },
  { name: 'pooled head', head: 'pooled' },
];

/** One training configuration: Keras (Python) or a TF.js backend with an LSTM path. */
export type TrainingPath =
  | { readonly kind: 'keras' }
  | {
      readonly kind: 'tfjs';
      readonly backend: 'node' | 'wasm' | 'cpu';
      readonly lstm: 'fused' | 'layers';
      /** The tensorflow path's backward pass (SIMPAIR_LSTM_BACKWARD); unset = the default for the device. */
      readonly backward?: 'cell' | 'sequence' | 'generic';
    };

const TRAINING_PATHS: readonly TrainingPath[] = [
  { kind: 'keras' },
  { kind: 'tfjs', backend: 'node', lstm: 'fused' },
  { kind: 'tfjs', backend: 'node', lstm: 'fused', backward: 'sequence' },
  { kind: 'tfjs', backend: 'node', lstm: 'fused', backward: 'generic' },
  { kind: 'tfjs', backend: 'node', lstm: 'layers' },
  { kind: 'tfjs', backend: 'wasm', lstm: 'fused' },
  { kind: 'tfjs', backend: 'wasm', lstm: 'layers' },
];

/** One encoder of the prediction grid. */
export interface PredictionEncoder {
  readonly model: string;
  readonly maxLen: number;
  /** Absent model directory: a 'missing' row (true) or left out of the grid silently (false). */
  readonly required: boolean;
}

export const MINILM = 'models/all-MiniLM-L6-v2';
export const BERT_BASE_RANDOM = 'models/bert-base-random';

export const SIZES: Record<BenchMode, BenchSizes> = {
  quick: {
    tokenizerPairs: 4076,
    embedding: {
      models: [MINILM],
      batchSizes: [8, 32],
      maxLens: [64],
      onnxFiles: ['onnx/model.onnx', 'onnx/model_quantized.onnx'],
      paddings: ['max-length', 'dynamic'],
      pairs: 256,
      secondsCap: 10,
    },
    training: { rows: 512, testRows: 256, epochs: 2, rounds: 1, paths: TRAINING_PATHS },
    accuracy: { trainRows: 192, testRows: 128, epochs: 2 },
    heads: { trainRows: 192, testRows: 128, epochs: 2, seeds: [42] },
    prediction: {
      warmRequests: 60,
      coldStarts: 1,
      encoders: [
        { model: MINILM, maxLen: 64, required: true },
        { model: BERT_BASE_RANDOM, maxLen: 128, required: false },
      ],
      onnxFiles: ['onnx/model.onnx', 'onnx/model_quantized.onnx'],
    },
    maxLen: 64,
    batchSize: 32,
    seed: 42,
    validationSplit: 0.1,
    referenceEmbedPairs: 256,
    interopPairs: 100,
    datapath: { shards: 4, rowsPerShard: 64, maxLen: 128, hidden: 768 },
  },
  full: {
    tokenizerPairs: 4076,
    embedding: {
      models: [MINILM, BERT_BASE_RANDOM],
      batchSizes: [1, 8, 32],
      maxLens: [64, 128],
      onnxFiles: ['onnx/model.onnx', 'onnx/model_quantized.onnx'],
      paddings: ['max-length', 'dynamic'],
      pairs: 512,
      secondsCap: 6,
    },
    training: { rows: Number.POSITIVE_INFINITY, testRows: Number.POSITIVE_INFINITY, epochs: 3, rounds: 1, paths: [...TRAINING_PATHS, { kind: 'tfjs', backend: 'cpu', lstm: 'fused' }] },
    accuracy: { trainRows: Number.POSITIVE_INFINITY, testRows: Number.POSITIVE_INFINITY, epochs: 3 },
    heads: { trainRows: Number.POSITIVE_INFINITY, testRows: Number.POSITIVE_INFINITY, epochs: 3, seeds: [42, 7, 2024] },
    prediction: {
      warmRequests: 200,
      coldStarts: 3,
      encoders: [
        { model: MINILM, maxLen: 64, required: true },
        { model: BERT_BASE_RANDOM, maxLen: 128, required: true },
      ],
      onnxFiles: ['onnx/model.onnx', 'onnx/model_quantized.onnx'],
    },
    maxLen: 64,
    batchSize: 32,
    seed: 42,
    validationSplit: 0.1,
    referenceEmbedPairs: 512,
    interopPairs: 100,
    datapath: { shards: 8, rowsPerShard: 128, maxLen: 128, hidden: 768 },
  },
};
