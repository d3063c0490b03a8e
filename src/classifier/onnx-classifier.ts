import type { InferenceSession } from 'onnxruntime-node';
import { ModelMismatchError, ShapeMismatchError } from '../errors.ts';
import type { Embeddings } from '../embedder/bert-embedder.ts';
import { createOnnxSession, ort } from '../embedder/onnx-session.ts';
import { decodeModel, int64, type ModelProto, type ValueInfoProto } from '../onnx-export/onnx-proto.ts';

export { CLASSIFIER_ONNX_FILE } from './onnx-file.ts';

/** Input and output names of `classifier.onnx` (see src/onnx-export/classifier-graph.ts). */
const INPUT = 'embeddings';
/** The pooled head's second input, `[batch, 4 * hidden]`. */
const PAIR_FEATURES = 'pair_features';
const OUTPUT = 'probability';

/** Options of {@link OnnxClassifier.load}. */
export interface OnnxClassifierOptions {
  /** ONNX Runtime intra-op threads. @default ORT's default (all cores) */
  readonly threads?: number;
  /** Where the bytes came from, for error messages. @default a description of the bytes */
  readonly name?: string;
}

/**
/** A fixed dimension of a graph input or output, or undefined when symbolic. */
function dims(info: ValueInfoProto | undefined): (number | undefined)[] | undefined {
  const shape = info?.type?.tensor_type?.shape?.dim;
  return shape?.map((d) => (d.dim_value !== undefined && d.dim_value !== null && int64(d.dim_value) > 0 ? int64(d.dim_value) : undefined));
}

/**
 * What in the graph's declared inputs and outputs contradicts the metadata, if anything:
 * `embeddings` `[batch, maxLen, hidden]`, `probability` `[batch, 1]`, and `pair_features`
 * `[batch, 4 * hidden]` exactly when the metadata says the pooled head.
 */
function shapeProblem(bytes: Uint8Array, shape: { maxLen: number; hidden: number; head?: 'pooled' | 'recipe' }, pooled: boolean): string | undefined {
  if (shape.head !== undefined && (shape.head === 'pooled') !== pooled) {
    return shape.head === 'pooled' ? `the metadata says the pooled head, but the graph has no "${PAIR_FEATURES}" input` : `the graph is the pooled head (input "${PAIR_FEATURES}"), but the metadata says the recipe's head`;
  }
  let graph: ModelProto['graph'];
  try {
    graph = decodeModel(bytes).graph;
  } catch {
    return undefined; // ONNX Runtime parsed it; nothing more to learn here
  }
  const fits = (got: (number | undefined)[] | undefined, want: (number | undefined)[]) =>
    !got || (got.length === want.length && got.every((d, i) => d === undefined || want[i] === undefined || d === want[i]));
  const show = (d: (number | undefined)[] | undefined) => `[${(d ?? []).map((x) => x ?? '?').join(', ')}]`;
  const input = dims(graph.input.find((i) => i.name === INPUT));
  if (!fits(input, [undefined, shape.maxLen, shape.hidden])) return `input "${INPUT}" is ${show(input)}, the metadata says [batch, ${shape.maxLen}, ${shape.hidden}]`;
  const output = dims(graph.output.find((o) => o.name === OUTPUT));
  if (!fits(output, [undefined, 1])) return `output "${OUTPUT}" is ${show(output)}, a classifier answers [batch, 1]`;
  if (pooled) {
    const features = dims(graph.input.find((i) => i.name === PAIR_FEATURES));
    if (!fits(features, [undefined, 4 * shape.hidden])) return `input "${PAIR_FEATURES}" is ${show(features)}, the metadata says [batch, ${4 * shape.hidden}]`;
  }
  return undefined;
}

/**
 * The Bi-LSTM classifier exported as `classifier.onnx` (by `simpair export` or `simpair run`),
 * run on ONNX Runtime: the same probabilities as the TF.js model (tested within 1e-5),
 * without loading TensorFlow.js.
 *
 * @example
 * const clf = await OnnxClassifier.load(await store.get('classifier.onnx'), { maxLen: 64, hidden: 384 });
 * const p = await clf.probabilities(await embedder.embed(batch));
 */
export class OnnxClassifier {
  private constructor(
    private readonly session: InferenceSession,
    readonly maxLen: number,
    readonly hidden: number,
    /** The file has the pooled head's `pair_features` input. */
    readonly pooled: boolean,
  ) {}

  /**
   * Loads `classifier.onnx` from a path or its bytes; `shape` is what its metadata.json says
   * (with `head`, the graph must be that head: 'recipe' one input, 'pooled' two).
   *
   * @throws ModelMismatchError when the file does not have simpair's input and output.
   */
  static async load(model: string | Uint8Array, shape: { maxLen: number; hidden: number; head?: 'pooled' | 'recipe' }, { threads, name }: OnnxClassifierOptions = {}): Promise<OnnxClassifier> {
    // A damaged classifier.onnx is rebuilt from model.json, not by the encoder's export script.
    const session = await createOnnxSession(model, { intraOpThreads: threads, name, fix: 'It is damaged or not a simpair classifier: rebuild it with simpair export --model-dir DIR (from model.json), or delete it to run model.json.' });
    if (!session.inputNames.includes(INPUT) || !session.outputNames.includes(OUTPUT)) {
      await session.release();
      throw new ModelMismatchError(
        `${typeof model === 'string' ? model : (name ?? 'The ONNX classifier')} has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; ` +
          `a simpair classifier.onnx has input "${INPUT}" and output "${OUTPUT}". Re-export it with simpair export --model-dir DIR.`,
      );
    }
    const pooled = session.inputNames.includes(PAIR_FEATURES);
    const where = typeof model === 'string' ? model : (name ?? 'The ONNX classifier');
    const problem = typeof model === 'string' ? undefined : shapeProblem(model, shape, pooled);
    if (problem) {
      await session.release();
      throw new ModelMismatchError(`${where} does not fit its metadata.json: ${problem}. It belongs to another model; re-export it with simpair export --model-dir DIR.`);
    }
    return new OnnxClassifier(session, shape.maxLen, shape.hidden, pooled);
  }

  /**
   * Probability that each row of `emb` is a paraphrase pair. `pairFeatures` (`[rows, 4 *
   * hidden]`, see pairFeatures) is the pooled head's second input, and only its.
   *
   * @throws ShapeMismatchError when the inputs do not have the classifier's shapes, or pair
   * features are missing for the pooled head or given to the recipe's.
   */
  async probabilities(emb: Embeddings, pairFeatures?: Float32Array): Promise<Float32Array> {
    const { data, batchSize, maxLen, hidden } = emb;
    if (this.pooled && pairFeatures === undefined) {
      throw new ShapeMismatchError(`This classifier.onnx is the pooled head: it needs pair features [${batchSize}, ${4 * this.hidden}] beside the embeddings (pairFeatures of the two sentences' mean-pooled vectors); none were given.`);
    }
    if (!this.pooled && pairFeatures !== undefined) {
      throw new ShapeMismatchError(`This classifier.onnx is the recipe's head (one input, "${INPUT}"), but pair features were given; only a model trained with --head pooled takes them.`);
    }
    if (pairFeatures && pairFeatures.length !== batchSize * 4 * this.hidden) {
      throw new ShapeMismatchError(`The pair features hold ${pairFeatures.length} values; ${batchSize} rows of the pooled head need [${batchSize}, ${4 * this.hidden}] = ${batchSize * 4 * this.hidden}.`);
    }
    if (maxLen !== this.maxLen || hidden !== this.hidden || data.length !== batchSize * maxLen * hidden) {
      throw new ShapeMismatchError(
        `The embeddings are [${batchSize}, ${maxLen}, ${hidden}] (${data.length} values) but the classifier expects [batch, ${this.maxLen}, ${this.hidden}]; tokenize with maxLen ${this.maxLen} and embed with the model it was trained on.`,
      );
    }
    const input = new ort.Tensor('float32', data, [batchSize, maxLen, hidden]);
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = { [INPUT]: input };
    if (pairFeatures) feeds[PAIR_FEATURES] = new ort.Tensor('float32', pairFeatures, [batchSize, 4 * this.hidden]);
    const results = await this.session.run(feeds, [OUTPUT]);
    const out = results[OUTPUT];
    try {
      return Float32Array.from(out.data as Float32Array);
    } finally {
      out.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
