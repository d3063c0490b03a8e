import { describe, expect, it } from 'vitest';
import { parseLabel } from '../../../src/data/private/parse-label.ts';

describe('parseLabel', () => {
  it.each([
    ['1', 1], ['0', 0], ['TRUE', 1], ['false', 0], ['yes', 1], ['No', 0], ['1.0', 1], ['0.00', 0], [1, 1], [0, 0], [true, 1], [false, 0],
  ] as const)('reads %j as %d', (value, label) => {
    expect(parseLabel(value, undefined)).toEqual({ ok: true, label });
  });

  it.each([['2'], ['-1'], ['1.5'], ['y'], ['paraphrase'], [0.5], [{}]])('rejects %j with the value and the fix', (value) => {
    const r = parseLabel(value, undefined);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/use 0 or 1, or pass --positive-label VALUE/);
  });

  it.each([[undefined], [null], [''], ['  ']])('calls %j missing', (value) => {
    const r = parseLabel(value, 'yes');
    expect(!r.ok && r.reason).toMatch(/label is missing/);
  });

  it('maps categorical labels with positiveLabel, trimmed and case-sensitive', () => {
    expect(parseLabel(' entailment ', 'entailment')).toEqual({ ok: true, label: 1 });
    expect(parseLabel('Entailment', 'entailment')).toEqual({ ok: true, label: 0 });
    expect(parseLabel('1', 'entailment')).toEqual({ ok: true, label: 0 });
    expect(parseLabel(1, '1')).toEqual({ ok: true, label: 1 });
  });
});
