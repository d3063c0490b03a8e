import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelSourceError, SimpairError } from '../errors.ts';

/**
 * Token ids of a batch of sentence pairs, row-major `[batchSize, maxLen]`, int64 as ONNX
 * Runtime wants them.
 */
export interface EncodedBatch {
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
  readonly batchSize: number;
  readonly maxLen: number;
  /** Real (unpadded) length of each row, `[CLS] a [SEP] b [SEP]` included. */
  readonly lengths: Int32Array;
}

/** Options of {@link PairTokenizer.encodePairs}. */
export interface EncodeOptions {
  /** Every row is truncated (longest first) and padded to exactly this many tokens. */
  readonly maxLen: number;
}

/**
 * BERT's WordPiece tokenizer on sentence pairs: `[CLS] a [SEP] b [SEP]`, token type ids 0
 * then 1, attention mask, truncation longest-first and padding to `maxLen`, exactly as
 * Python's `BertTokenizer(...)(a, b, padding='max_length', truncation=True, max_length=maxLen)`.
 * WordPiece itself (normalisation, pre-tokenisation, sub-words) is `@huggingface/tokenizers`
 * reading the standard `tokenizer.json`; this class adds the pair layout.
 *
 * @example
 * const tok = await PairTokenizer.fromDir('test/fixtures/tiny-bert');
 * const batch = tok.encodePairs([['A man eats.', 'Someone is eating.']], { maxLen: 32 });
 * batch.inputIds.length; // 32
 */
export class PairTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  /** sha256 of the `tokenizer.json` bytes: stored with embeddings and models to catch mix-ups. */
  readonly sha256: string;

  private constructor(
    private readonly tokenizer: Tokenizer,
    sha256: string,
    private readonly lowercases: boolean,
  ) {
    this.sha256 = sha256;
    this.clsId = this.requireToken('[CLS]');
    this.sepId = this.requireToken('[SEP]');
    this.padId = this.requireToken('[PAD]');
  }

  /** Reads `tokenizer.json` (and `tokenizer_config.json` when present) from a model directory. */
  static async fromDir(dir: string): Promise<PairTokenizer> {
    const path = join(dir, 'tokenizer.json');
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new ModelSourceError(
        `No tokenizer.json in ${dir}. A model directory needs config.json, tokenizer.json and onnx/model.onnx (the Hugging Face hub layout); ` +
          `export one with scripts/export_minilm.py or pass a hub id.`,
        { cause: err },
      );
    }
    let config: object = {};
    try {
      config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8'));
    } catch {
      // tokenizer_config.json is optional for BERT: tokenizer.json carries the pipeline.
    }
    return PairTokenizer.fromJson(JSON.parse(bytes.toString('utf8')), config, createHash('sha256').update(bytes).digest('hex'));
  }

  /** Builds from already-parsed `tokenizer.json` content. */
  static fromJson(tokenizerJson: object, tokenizerConfig: object, sha256: string): PairTokenizer {
    const json = tokenizerJson as { model?: { type?: string } };
    if (json.model?.type !== 'WordPiece') {
      throw new ModelSourceError(`tokenizer.json holds a ${json.model?.type ?? 'unknown'} model; simpair needs BERT's WordPiece tokenizer.`);
    }
    const normalizer = (tokenizerJson as { normalizer?: { type?: string; lowercase?: boolean } }).normalizer;
    const lowercases = normalizer?.type === 'BertNormalizer' && normalizer.lowercase !== false;
    return new PairTokenizer(new Tokenizer(tokenizerJson, tokenizerConfig), sha256, lowercases);
  }

  private requireToken(token: string): number {
    const id = this.tokenizer.token_to_id(token);
    if (id === undefined) throw new ModelSourceError(`tokenizer.json has no ${token} token; it is not a BERT tokenizer.`);
    return id;
  }

  /** WordPiece ids of one text, without special tokens. */
  tokenIds(text: string): number[] {
    return this.tokenizer.encode(this.prepare(text), { add_special_tokens: false }).ids;
  }

  /**
   * Porting note: JavaScript's toLowerCase maps a word-final capital sigma to 'ς'; Python's
   * BertTokenizer and Rust's tokenizers lowercase character by character ('σ'). Sigma is the
   * only context-sensitive mapping, so lowering it first restores parity.
   */
  private prepare(text: string): string {
    return this.lowercases && text.includes('Σ') ? text.replaceAll('Σ', 'σ') : text;
  }

  /** WordPiece tokens of one text (for debugging and the README). */
  tokens(text: string): string[] {
    return this.tokenizer.encode(this.prepare(text), { add_special_tokens: false }).tokens;
  }

  /** Encodes pairs into one `[pairs.length, maxLen]` batch. */
  encodePairs(pairs: readonly (readonly [string, string])[], { maxLen }: EncodeOptions): EncodedBatch {
    if (!Number.isInteger(maxLen) || maxLen < 3) {
      throw new SimpairError(`maxLen must be an integer of at least 3 ([CLS] a [SEP] b [SEP] needs 3 special tokens), got ${maxLen}.`);
    }
    const n = pairs.length;
    const inputIds = new BigInt64Array(n * maxLen).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(n * maxLen);
    const tokenTypeIds = new BigInt64Array(n * maxLen);
    const lengths = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const [a, b] = pairs[r];
      const [idsA, idsB] = truncateLongestFirst(this.tokenIds(a), this.tokenIds(b), maxLen - 3);
      const row = [this.clsId, ...idsA, this.sepId, ...idsB, this.sepId];
      const firstSegment = idsA.length + 2;
      const base = r * maxLen;
      for (let i = 0; i < row.length; i++) {
        inputIds[base + i] = BigInt(row[i]);
        attentionMask[base + i] = 1n;
        tokenTypeIds[base + i] = i < firstSegment ? 0n : 1n;
      }
      lengths[r] = row.length;
    }
    return { inputIds, attentionMask, tokenTypeIds, batchSize: n, maxLen, lengths };
  }
}

/**
 * Truncates a pair to `budget` tokens the way `transformers` does with `longest_first`:
 * remove from the longer side until both are equal, then alternately, the second side
 * losing the odd token.
 */
export function truncateLongestFirst(a: number[], b: number[], budget: number): [number[], number[]] {
  const excess = a.length + b.length - budget;
  if (excess <= 0) return [a, b];
  const diff = Math.abs(a.length - b.length);
  const first = Math.min(diff, excess);
  const rest = excess - first;
  const half = Math.floor(rest / 2);
  let removeA: number;
  let removeB: number;
  if (a.length > b.length) {
    removeA = first + half;
    removeB = rest - half;
  } else {
    removeA = half;
    removeB = first + rest - half;
  }
  return [a.slice(0, a.length - removeA), b.slice(0, b.length - removeB)];
}
