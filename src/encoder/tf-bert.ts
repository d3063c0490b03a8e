import * as tf from '@tensorflow/tfjs-core';
import { assertTfBackendReady } from '../classifier/tf-backend.ts';
import { ShapeMismatchError } from '../errors.ts';
import type { BertConfig } from './bert-config.ts';
import { bertParameterShapes, type BertParameter } from './bert-weights.ts';

/** Token ids of one batch, int32 `[batch, sequence]` each. */
export interface BertInputs {
  readonly inputIds: tf.Tensor2D;
  readonly attentionMask: tf.Tensor2D;
  readonly tokenTypeIds: tf.Tensor2D;
}

/** Added to the attention scores of masked keys; exp() of it is 0 in float32, as PyTorch's finfo.min is. */
const MASKED_SCORE = -1e9;

/**
 * BERT's encoder (Hugging Face's `BertModel` up to `last_hidden_state`, no pooler) in
 * TensorFlow.js ops over trainable variables, for fine-tuning: word + position + token type
 * embeddings and LayerNorm; per layer, multi-head self-attention with the additive attention
 * mask, residual + LayerNorm, a GELU (exact erf form, `hidden_act: gelu`) feed-forward,
 * residual + LayerNorm. Dropout (config.json's rates) only when `training`.
 *
 * @example
 * await initTfBackend();
 * const config = await readBertConfig(dir);
 * const bert = TfBert.fromParameters(config, readBertWeights(await readFile(join(dir, 'onnx/model.onnx')), config));
 * const hidden = bert.apply({ inputIds, attentionMask, tokenTypeIds }); // [batch, seq, hidden]
 */
export class TfBert {
  private constructor(
    readonly config: BertConfig,
    private readonly vars: Map<string, tf.Variable>,
  ) {}

  /** Builds the encoder with `params` as its initial weights (copied into new variables). */
  static fromParameters(config: BertConfig, params: readonly BertParameter[]): TfBert {
    assertTfBackendReady('TfBert');
    const byName = new Map(params.map((p) => [p.name, p]));
    const vars = new Map<string, tf.Variable>();
    for (const { name, shape } of bertParameterShapes(config)) {
      const p = byName.get(name);
      if (!p || p.shape.join('x') !== shape.join('x')) {
        vars.forEach((v) => v.dispose());
        throw new ShapeMismatchError(`TfBert: parameter ${name} must have shape [${shape.join(', ')}], got ${p ? `[${p.shape.join(', ')}]` : 'none'}.`);
      }
      vars.set(name, tf.tidy(() => tf.variable(tf.tensor(p.values, shape, 'float32'), true)));
    }
    return new TfBert(config, vars);
  }

  /** The trainable variables, in {@link bertParameterShapes}' order. */
  get variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Current weights, read back from the device (for export). */
  async parameters(): Promise<BertParameter[]> {
    const out: BertParameter[] = [];
    for (const [name, v] of this.vars) out.push({ name, shape: v.shape, values: (await v.data()) as Float32Array });
    return out;
  }

  /** Copies of the current weights (for restoring the best epoch). */
  snapshot(): tf.Tensor[] {
    return this.variables.map((v) => v.clone());
  }

  /** Puts back weights taken with {@link snapshot}. */
  restore(weights: readonly tf.Tensor[]): void {
    this.variables.forEach((v, i) => v.assign(weights[i]));
  }

  private v(name: string): tf.Variable {
    return this.vars.get(name)!;
  }

  /** `last_hidden_state` `[batch, sequence, hidden]` of one batch. */
  apply({ inputIds, attentionMask, tokenTypeIds }: BertInputs, { training = false }: { training?: boolean } = {}): tf.Tensor3D {
    const { hiddenSize: h, numAttentionHeads: heads, numHiddenLayers, layerNormEps: eps, maxPositionEmbeddings } = this.config;
    const [batch, seq] = inputIds.shape;
    if (seq > maxPositionEmbeddings) throw new ShapeMismatchError(`TfBert: ${seq} tokens exceed max_position_embeddings ${maxPositionEmbeddings} of config.json.`);
    const headSize = h / heads;
    const drop = (x: tf.Tensor, rate: number) => (training && rate > 0 ? tf.dropout(x, rate) : x);
    const layerNorm = (x: tf.Tensor, prefix: string) => {
      const { mean, variance } = tf.moments(x, -1, true);
      const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
      return tf.add(tf.mul(normed, this.v(`${prefix}.weight`)), this.v(`${prefix}.bias`));
    };
    // x [batch, seq, in] @ kernel [in, out] + bias, as 2-D matmuls.
    const dense = (x: tf.Tensor, prefix: string) => {
      const kernel = this.v(`${prefix}.weight`);
      const y = tf.add(tf.matMul(tf.reshape(x, [batch * seq, kernel.shape[0]!]), kernel), this.v(`${prefix}.bias`));
      return tf.reshape(y, [batch, seq, kernel.shape[1]!]);
    };
    const splitHeads = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [batch, seq, heads, headSize]), [0, 2, 1, 3]);
    return tf.tidy(() => {
      const positions = tf.range(0, seq, 1, 'int32');
      const embedded = tf.add(
        tf.add(tf.gather(this.v('embeddings.word_embeddings.weight'), tf.cast(inputIds, 'int32')), tf.gather(this.v('embeddings.token_type_embeddings.weight'), tf.cast(tokenTypeIds, 'int32'))),
        tf.expandDims(tf.gather(this.v('embeddings.position_embeddings.weight'), positions), 0),
      );
      let x = drop(layerNorm(embedded, 'embeddings.LayerNorm'), this.config.hiddenDropout);
      // [batch, 1, 1, seq]: 0 where attended, MASKED_SCORE where masked (BERT's extended mask).
      const maskAdd = tf.mul(tf.sub(1, tf.reshape(tf.cast(attentionMask, 'float32'), [batch, 1, 1, seq])), MASKED_SCORE);
      const scale = 1 / Math.sqrt(headSize);
      for (let l = 0; l < numHiddenLayers; l++) {
        const p = `encoder.layer.${l}`;
        const q = splitHeads(dense(x, `${p}.attention.self.query`));
        const k = splitHeads(dense(x, `${p}.attention.self.key`));
        const val = splitHeads(dense(x, `${p}.attention.self.value`));
        const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), maskAdd);
        const probs = drop(tf.softmax(scores, -1), this.config.attentionDropout);
        const context = tf.reshape(tf.transpose(tf.matMul(probs, val), [0, 2, 1, 3]), [batch, seq, h]);
        const attended = layerNorm(tf.add(drop(dense(context, `${p}.attention.output.dense`), this.config.hiddenDropout), x), `${p}.attention.output.LayerNorm`);
        const inner = dense(attended, `${p}.intermediate.dense`);
        // BERT's GELU, exact: x * 0.5 * (1 + erf(x / sqrt(2))).
        const gelu = tf.mul(tf.mul(inner, 0.5), tf.add(1, tf.erf(tf.div(inner, Math.SQRT2))));
        x = layerNorm(tf.add(drop(dense(gelu, `${p}.output.dense`), this.config.hiddenDropout), attended), `${p}.output.LayerNorm`);
      }
      return x as tf.Tensor3D;
    });
  }

  dispose(): void {
    this.vars.forEach((v) => v.dispose());
    this.vars.clear();
  }
}
