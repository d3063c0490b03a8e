import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelSourceError } from '../errors.ts';

/** The fields of a BERT `config.json` that {@link TfBert} is built from. */
export interface BertConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly intermediateSize: number;
  readonly maxPositionEmbeddings: number;
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  /** Dropout on hidden states while training (`hidden_dropout_prob`). */
  readonly hiddenDropout: number;
  /** Dropout on attention probabilities while training (`attention_probs_dropout_prob`). */
  readonly attentionDropout: number;
}

/** `hidden_act` values {@link TfBert} implements: BERT's exact erf GELU. */
const SUPPORTED_ACTIVATIONS = ['gelu'];

/**
 * Reads and checks a BERT `config.json` (Hugging Face's `BertConfig`): `model_type` bert,
 * `hidden_act` gelu (the exact erf form), absolute position embeddings. Every problem is
 * reported at once, naming the file and field.
 *
 * @example
 * const config = await readBertConfig('models/all-MiniLM-L6-v2');
 * config.hiddenSize; // 384
 */
export async function readBertConfig(modelDir: string): Promise<BertConfig> {
  const path = join(modelDir, 'config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelSourceError(`Cannot read ${path}: ${(err as Error).message}. Fine-tuning needs the model's config.json.`, { cause: err });
  }
  return parseBertConfig(raw, path);
}

/** {@link readBertConfig} on an already parsed config; `where` names it in errors. */
export function parseBertConfig(raw: Record<string, unknown>, where = 'config.json'): BertConfig {
  const problems: string[] = [];
  const int = (field: string, fallback?: number): number => {
    const value = raw[field] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) problems.push(`${field} must be a positive integer (got ${JSON.stringify(value)})`);
    return value as number;
  };
  const rate = (field: string): number => {
    const value = raw[field] ?? 0;
    if (typeof value !== 'number' || !(value >= 0 && value < 1)) problems.push(`${field} must be a number in [0, 1) (got ${JSON.stringify(value)})`);
    return value as number;
  };
  if (raw.model_type !== undefined && raw.model_type !== 'bert') problems.push(`model_type is ${JSON.stringify(raw.model_type)}; only BERT ("bert") encoders can be fine-tuned`);
  if (!SUPPORTED_ACTIVATIONS.includes(raw.hidden_act as string)) problems.push(`hidden_act is ${JSON.stringify(raw.hidden_act)}; supported: ${SUPPORTED_ACTIVATIONS.join(', ')} (BERT's exact erf GELU)`);
  const positions = raw.position_embedding_type ?? 'absolute';
  if (positions !== 'absolute') problems.push(`position_embedding_type is ${JSON.stringify(positions)}; only "absolute" is supported`);
  const config: BertConfig = {
    vocabSize: int('vocab_size'),
    hiddenSize: int('hidden_size'),
    numHiddenLayers: int('num_hidden_layers'),
    numAttentionHeads: int('num_attention_heads'),
    intermediateSize: int('intermediate_size'),
    maxPositionEmbeddings: int('max_position_embeddings'),
    typeVocabSize: int('type_vocab_size', 2),
    layerNormEps: typeof raw.layer_norm_eps === 'number' ? raw.layer_norm_eps : 1e-12,
    hiddenDropout: rate('hidden_dropout_prob'),
    attentionDropout: rate('attention_probs_dropout_prob'),
  };
  if (problems.length === 0 && config.hiddenSize % config.numAttentionHeads !== 0) {
    problems.push(`hidden_size ${config.hiddenSize} is not a multiple of num_attention_heads ${config.numAttentionHeads}`);
  }
  if (problems.length) throw new ModelSourceError(`${where} does not describe a BERT simpair can fine-tune: ${problems.join('; ')}.`);
  return config;
}
