import { SimpairError } from '../errors.ts';

/**
 * SBERT's classification input for a pair of sentence embeddings: `[u, v, |u - v|, u * v]`
 * (Reimers & Gurevych 2019, the classification objective), `4 * hidden` values. The pooled
 * head (`buildBiLstm({ head: 'pooled' })`) takes it beside the token embeddings.
 *
 * @example
 * pairFeatures(pooled.vector(0), pooled.vector(1)); // Float32Array(4 * hidden)
 */
export function pairFeatures(u: ArrayLike<number>, v: ArrayLike<number>, out: Float32Array = new Float32Array(4 * u.length)): Float32Array {
  const h = u.length;
  if (v.length !== h) throw new SimpairError(`pairFeatures: sentence vectors of ${h} and ${v.length} values; both must come from the same encoder.`);
  for (let j = 0; j < h; j++) {
    out[j] = u[j];
    out[h + j] = v[j];
    out[2 * h + j] = Math.abs(u[j] - v[j]);
    out[3 * h + j] = u[j] * v[j];
  }
  return out;
}
