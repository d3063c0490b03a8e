/**
 * Child of the profile stage (run under `node --cpu-prof`): tokenizes and embeds MRPC pairs
 * with MiniLM float32, batch 32, through `embedPairs`, as `simpair run` does.
 *
 * node --cpu-prof bin/run-ts.js bench/stages/profile-embed-child.ts --pairs 512 --max-len 64
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BertEmbedder } from '../../src/embedder/index.ts';
import { embedPairs } from '../../src/pipeline/embed-pairs.ts';
import { PairTokenizer } from '../../src/tokenizer/index.ts';
import { MINILM } from '../lib/config.ts';
import { loadMrpc } from '../lib/mrpc.ts';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '512' }, 'max-len': { type: 'string', default: '64' } } });
const dir = join(process.cwd(), MINILM);
const tokenizer = await PairTokenizer.fromDir(dir);
const embedder = await BertEmbedder.load(dir);
const rows = (await loadMrpc('train')).rows.slice(0, Number(values.pairs));
const t0 = performance.now();
await embedPairs(tokenizer, embedder, rows.map((r) => [r.sentence1, r.sentence2] as const), { maxLen: Number(values['max-len']), batchSize: 32 });
const seconds = (performance.now() - t0) / 1000;
await embedder.dispose();
process.stdout.write(JSON.stringify({ pairs: rows.length, seconds }) + '\n');
