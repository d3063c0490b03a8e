import { checkQuantizedModel, INT8_MIN_COSINE } from '../embedder/index.ts';
import { SimpairError } from '../errors.ts';
import type { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import { log } from '../util/log.ts';

/**
 * `--quantized`: measures the int8 export against the float32 one on probe pairs, embedded as
 * this run will (maxLen, padding), and refuses it when any position the Bi-LSTM reads strays
 * below {@link INT8_MIN_COSINE}. Returns the figure for the report.
 *
 * @example
 * const figure = await checkInt8('models/all-MiniLM-L6-v2', tokenizer, { maxLen: 64, padding: 'dynamic' });
 */
export async function checkInt8(
  dir: string,
  tokenizer: PairTokenizer,
  options: { maxLen: number; padding: 'max-length' | 'dynamic'; threads?: number; command?: 'run' | 'export' },
): Promise<string> {
  const exporting = options.command === 'export';
  const agreement = await checkQuantizedModel(dir, tokenizer, options);
  if (!agreement) {
    const note = `not checked: ${dir} has no onnx/model.onnx to compare the int8 model with`;
    log('warn', `--quantized: ${note}; int8 exports can change BERT's outputs a lot (all-MiniLM-L6-v2 at [PAD] positions), prefer --padding masked`);
    return note;
  }
  const figure = `min cosine ${agreement.minCosine.toFixed(4)} over ${agreement.positions} positions (tolerance ${INT8_MIN_COSINE}), max abs diff ${agreement.maxAbsDiff.toFixed(3)} of max |value| ${agreement.maxAbsValue.toFixed(3)}`;
  if (agreement.minCosine < INT8_MIN_COSINE) {
    throw new SimpairError(
      `--quantized: the int8 model in ${dir} strays too far from its float32 model on the positions the Bi-LSTM reads: ${figure}. ` +
        (options.padding === 'max-length'
          ? 'With --padding max-length (the recipe) the LSTMs read BERT\'s outputs at [PAD] positions, which int8 quantization damages most; ' +
            (exporting ? 'export without --quantized, or train with simpair run --padding masked and export that model.' : 'pass --padding masked, or drop --quantized.')
          : 'Drop --quantized, or re-export the int8 model (e.g. quantize MatMul weights only, per channel).'),
    );
  }
  log('info', `--quantized: int8 vs float32 ${figure}`);
  return figure;
}
