import { describe, expect, it } from 'vitest';
import { parsePredictRequest } from '../../src/server/predict-request.ts';
import { RequestError } from '../../src/errors.ts';

const pair = { sentence1: 'A man is eating.', sentence2: 'Someone eats.' };

describe('parsePredictRequest', () => {
  it('accepts a JSON string, bytes or an object', () => {
    expect(parsePredictRequest(JSON.stringify({ pairs: [pair] })).pairs).toEqual([pair]);
    expect(parsePredictRequest(Buffer.from(JSON.stringify({ pairs: [pair] }))).pairs).toEqual([pair]);
    expect(parsePredictRequest({ pairs: [pair, pair] }).pairs).toHaveLength(2);
  });

  it('rejects invalid JSON with the fix', () => {
    expect(() => parsePredictRequest('{"pairs": [')).toThrow(/not valid JSON.*send \{"pairs"/);
  });

  it('names every offending field', () => {
    const err = (() => {
      try {
        parsePredictRequest({ pairs: [pair, { sentence1: '  ', sentence2: 3 }] });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(RequestError);
    expect(err?.message).toContain('pairs[1].sentence1: must not be empty');
    expect(err?.message).toContain('pairs[1].sentence2: must be a string');
  });

  it('enforces pair count and text length limits', () => {
    const limits = { maxPairs: 2, maxTextLength: 10 };
    expect(() => parsePredictRequest({ pairs: [pair, pair, pair] }, { ...limits, maxTextLength: 100 })).toThrow(/at most 2 pairs/);
    expect(() => parsePredictRequest({ pairs: [{ sentence1: 'x'.repeat(11), sentence2: 'y' }] }, limits)).toThrow(/at most 10 characters/);
    expect(() => parsePredictRequest({ pairs: [] })).toThrow(/at least one pair/);
    expect(() => parsePredictRequest({ sentences: [] })).toThrow(/pairs/);
    expect(() => parsePredictRequest([1, 2])).toThrow(RequestError);
  });
});
