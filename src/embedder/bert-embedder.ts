import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelSourceError, ShapeMismatchError } from '../errors.ts';
import type { EncodedBatch } from '../tokenizer/pair-tokenizer.ts';
import { createOnnxSession, ort } from './onnx-session.ts';

/** Token embeddings `[batchSize, maxLen, hidden]`, row-major float32. */
export interface Embeddings {
  readonly data: Float32Array;
  readonly batchSize: number;
  readonly maxLen: number;
  readonly hidden: number;
}

/** Options of {@link BertEmbedder.load}. */
export interface BertEmbedderOptions {
  /** ONNX file inside the model directory. @default 'onnx/model.onnx' */
  readonly onnxFile?: string;
  /** ONNX Runtime intra-op threads. @default ORT's default (all cores) */
  readonly threads?: number;
  /**
   * 'max-length' runs BERT on all maxLen positions and keeps its outputs at [PAD] positions
   * (parity with the Python recipe). 'dynamic' runs BERT only up to the longest real row of
   * the batch and sets every padding position (attention mask 0) to zeros: faster, each row
   * independent of its batch mates, and maskable by a Masking(0) layer.
   * @default 'max-length'
   */
  readonly padding?: 'max-length' | 'dynamic';
}

/**
 * BERT in ONNX Runtime: token ids in, `last_hidden_state` (`outputs[0]`) out. The hidden
 * size comes from the model's `config.json` and is checked against what the model returns.
 * The attention mask is always passed.
 *
 * @example
 * const embedder = await BertEmbedder.load('test/fixtures/tiny-bert');
 * const emb = await embedder.embed(tokenizer.encodePairs(pairs, { maxLen: 64 }));
 * emb.hidden; // 32 for the fixture, 768 for bert-base, 384 for MiniLM
 */
export class BertEmbedder {
  private constructor(
    private readonly session: InferenceSession,
    readonly hidden: number,
    readonly modelDir: string,
    readonly padding: 'max-length' | 'dynamic',
    /** The ONNX file the session runs. */
    readonly onnxPath: string,
  ) {}

  static async load(modelDir: string, { onnxFile = 'onnx/model.onnx', threads, padding = 'max-length' }: BertEmbedderOptions = {}): Promise<BertEmbedder> {
    const hidden = await readHiddenSize(modelDir);
    const session = await createOnnxSession(join(modelDir, onnxFile), { intraOpThreads: threads });
    for (const name of ['input_ids', 'attention_mask']) {
      if (!session.inputNames.includes(name)) {
        throw new ModelSourceError(`${join(modelDir, onnxFile)} has inputs [${session.inputNames.join(', ')}] but no ${name}; export BERT with input_ids, attention_mask and token_type_ids.`);
      }
    }
    return new BertEmbedder(session, hidden, modelDir, padding, join(modelDir, onnxFile));
  }

  /** Runs BERT on one encoded batch. */
  async embed(batch: EncodedBatch): Promise<Embeddings> {
    const { batchSize, maxLen } = batch;
    let runLen = maxLen;
    if (this.padding === 'dynamic') runLen = Math.max(1, ...batch.lengths);
    const pick = (src: BigInt64Array) => (runLen === maxLen ? src : sliceRows(src, batchSize, maxLen, runLen));
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', pick(batch.inputIds), [batchSize, runLen]),
      attention_mask: new ort.Tensor('int64', pick(batch.attentionMask), [batchSize, runLen]),
    };
    if (this.session.inputNames.includes('token_type_ids')) {
      feeds.token_type_ids = new ort.Tensor('int64', pick(batch.tokenTypeIds), [batchSize, runLen]);
    }
    const outputName = this.session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : this.session.outputNames[0];
    const results = await this.session.run(feeds, [outputName]);
    const out = results[outputName];
    try {
      const [b, s, h] = out.dims;
      if (b !== batchSize || s !== runLen || h !== this.hidden) {
        throw new ShapeMismatchError(
          `BERT returned ${outputName} of shape [${out.dims.join(', ')}], expected [${batchSize}, ${runLen}, ${this.hidden}] (hidden_size from config.json). The ONNX file and config.json disagree; re-export the model.`,
        );
      }
      const data = out.data as Float32Array;
      if (this.padding === 'max-length') return { data: new Float32Array(data), batchSize, maxLen, hidden: h };
      // Porting note: padding positions are zeros here, not BERT's output on [PAD].
      const full = new Float32Array(batchSize * maxLen * h);
      for (let r = 0; r < batchSize; r++) {
        const real = batch.lengths[r];
        full.set(data.subarray(r * runLen * h, (r * runLen + real) * h), r * maxLen * h);
      }
      return { data: full, batchSize, maxLen, hidden: h };
    } finally {
      out.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function sliceRows(src: BigInt64Array, rows: number, width: number, keep: number): BigInt64Array {
  const out = new BigInt64Array(rows * keep);
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * width, r * width + keep), r * keep);
  return out;
}

/** Reads `hidden_size` (or `dim` for DistilBERT-style configs) from `config.json`. */
export async function readHiddenSize(modelDir: string): Promise<number> {
  const path = join(modelDir, 'config.json');
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ModelSourceError(`Cannot read ${path}: ${(err as Error).message}. A model directory needs the model's config.json.`, { cause: err });
  }
  const hidden = config.hidden_size ?? config.dim;
  if (typeof hidden !== 'number' || !Number.isInteger(hidden) || hidden <= 0) {
    throw new ModelSourceError(`${path} has no positive integer hidden_size (got ${JSON.stringify(hidden)}).`);
  }
  return hidden;
}
