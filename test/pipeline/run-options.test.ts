import { describe, expect, it } from 'vitest';
import { resolveRunOptions } from '../../src/pipeline/run-options.ts';

describe('resolveRunOptions', () => {
  it('an unknown key in options.dataset lists the dataset keys, not only the top-level ones (issue 19)', () => {
    expect(() => resolveRunOptions({ dataset: { sentence2Column: 'q2' } })).toThrow(/options\.dataset: Unrecognized key: "sentence2Column".*Allowed in options\.dataset: sentence1Col, sentence2Col, labelCol/);
    expect(() => resolveRunOptions({ epoch: 3 })).toThrow(/Allowed options: .*epochs/);
  });
});
