import { describe, expect, it } from 'vitest';
import { parseLabel } from '../../../src/data/private/parse-label.ts';

describe('parseLabel', () => {
  it.each([
    ['1', 1], ['0', 0], ['TRUE', 1], ['false', 0], ['yes', 1], ['No', 0], [1, 1], [0, 0], [true, 1], [false, 0],
  ] as const)('reads %j as %d', (value, label) => {
    expect(parseLabel(value)).toEqual({ ok: true, label });
  });

  it.each([['y'], ['paraphrase'], [{}]])('rejects %j with the value and the fix', (value) => {
    const r = parseLabel(value);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/use 0 or 1, or pass --positive-label VALUE \(categories\) or --label-threshold T \(scores\)/);
  });

  it.each([['2', 2], ['-1', -1], ['1.5', 1.5], ['1.0', 1], ['0.00', 0], ['1e0', 1], [0.5, 0.5]] as const)('rejects the number %j as a label, flagging it as a score', (value, score) => {
    const r = parseLabel(value);
    expect(r).toEqual({ ok: false, score, reason: expect.stringMatching(/is a number but not 0 or 1.*--label-threshold T \(label 1 when score >= T\)/) });
  });

  it('with labelThreshold: 1 when the score is >= T, any number form', () => {
    expect([' 3.8 ', '4', 4, '4.000', '5e0', '-2', '.5'].map((v) => parseLabel(v, { labelThreshold: 4 }))).toEqual(
      [0, 1, 1, 1, 1, 0, 0].map((label) => ({ ok: true, label })),
    );
    expect(parseLabel('high', { labelThreshold: 4 })).toEqual({ ok: false, reason: expect.stringMatching(/"high" is not a number; --label-threshold 4 needs a numeric score/) });
    expect(parseLabel(true, { labelThreshold: 4 }).ok).toBe(false);
  });

  it.each([[undefined], [null], [''], ['  ']])('calls %j missing', (value) => {
    const r = parseLabel(value, { positiveLabel: 'yes' });
    expect(!r.ok && r.reason).toMatch(/label is missing/);
  });

  it('maps categorical labels with positiveLabel, trimmed and case-sensitive', () => {
    expect(parseLabel(' entailment ', { positiveLabel: 'entailment' })).toEqual({ ok: true, label: 1 });
    expect(parseLabel('Entailment', { positiveLabel: 'entailment' })).toEqual({ ok: true, label: 0 });
    expect(parseLabel('1', { positiveLabel: 'entailment' })).toEqual({ ok: true, label: 0 });
    expect(parseLabel(1, { positiveLabel: '1' })).toEqual({ ok: true, label: 1 });
  });
});
