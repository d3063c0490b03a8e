import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ShapeMismatchError } from '../errors.ts';

/** `[maxLen, hidden]` the model takes per row, from its first input's shape. */
export function modelInputShape(model: tfl.LayersModel): { maxLen: number; hidden: number } {
  const shape = model.inputs[0].shape;
  const maxLen = shape[1];
  const hidden = shape[2];
  if (shape.length !== 3 || maxLen == null || hidden == null) {
    throw new ShapeMismatchError(`The model's input has shape [${shape.map(String).join(', ')}]; simpair needs [batch, maxLen, hidden].`);
  }
  return { maxLen, hidden };
}

/**
 * Throws {@link ShapeMismatchError} unless embeddings of `[*, maxLen, hidden]` fit the
 * model; the message gives both shapes and the fix.
 */
export function assertFitsModel(model: tfl.LayersModel, maxLen: number, hidden: number, what: string): void {
  const expected = modelInputShape(model);
  if (expected.maxLen === maxLen && expected.hidden === hidden) return;
  const fixes: string[] = [];
  if (expected.maxLen !== maxLen) fixes.push(`tokenize with maxLen ${expected.maxLen} (padding to maxLen), or build the model with maxLen ${maxLen}`);
  if (expected.hidden !== hidden) fixes.push(`embed with a model of hidden size ${expected.hidden}, or build the model with hidden ${hidden}`);
  throw new ShapeMismatchError(
    `${what} are [batch, ${maxLen}, ${hidden}] but the model expects [batch, ${expected.maxLen}, ${expected.hidden}]; ${fixes.join('; ')}.`,
  );
}

/**
 * What to pass to `model.apply` / `predict` for a batch: the token embeddings alone (the
 * recipe), or `[tokens, pairFeatures]` for the pooled head (a model with two inputs).
 *
 * @throws ShapeMismatchError when the model and the batch disagree on the pair features.
 */
export function modelInputs(model: tfl.LayersModel, xs: tf.Tensor, pairs: tf.Tensor | undefined, what: string): tf.Tensor | tf.Tensor[] {
  const wantsPairs = model.inputs.length === 2;
  if (wantsPairs && pairs === undefined) {
    throw new ShapeMismatchError(
      `${what} have no pooled sentence vectors, but the model is the pooled head (two inputs: tokens and pair_features); embed with the pooled head (simpair run --head pooled) or use a recipe model.`,
    );
  }
  return wantsPairs ? [xs, pairs!] : xs;
}
