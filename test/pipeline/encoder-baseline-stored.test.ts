import { describe, expect, it } from 'vitest';
import { cosineSimilarity } from '../../src/metrics/encoder-baseline.ts';
import { storedPairScores } from '../../src/pipeline/encoder-baseline.ts';
import { writeSyntheticStore } from '../classifier/synthetic-store.ts';

describe('storedPairScores (the cloud training step scores the encoder baseline from the shards)', () => {
  it('gives every row the cosine of its two stored pooled vectors, with its label, in manifest order across shards', async () => {
    const { reader } = await writeSyntheticStore({ hidden: 8, shardSizes: [5, 3], pooled: 'signal', seed: 3 });
    const scored = await storedPairScores(reader);
    expect(scored?.scores).toHaveLength(8);
    let at = 0;
    for (let i = 0; i < reader.manifest.shards.length; i++) {
      const shard = await reader.readShard(i);
      for (let r = 0; r < shard.count; r++, at++) {
        expect(scored!.labels[at]).toBe(shard.labels[r]);
        expect(scored!.scores[at]).toBeCloseTo(cosineSimilarity(shard.pooled!.subarray(16 * r, 16 * r + 8), shard.pooled!.subarray(16 * r + 8, 16 * r + 16)), 12);
        // 'signal': a similar row stores v = u, so its cosine is 1.
        if (shard.labels[r] === 1) expect(scored!.scores[at]).toBeCloseTo(1, 6);
      }
    }
  });

  it('is undefined when the shards hold no pooled vectors (embedded by an older simpair), and still shows the caller every shard once, with its first row', async () => {
    const { reader } = await writeSyntheticStore({ hidden: 8, shardSizes: [4, 6, 2] });
    const seen: [number, number][] = [];
    expect(await storedPairScores(reader, (shard, first) => void seen.push([first, shard.count]))).toBeUndefined();
    expect(seen).toEqual([[0, 4], [4, 6], [10, 2]]);
  });
});
