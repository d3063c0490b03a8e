import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/data/index.ts';
import { DatasetError } from '../../src/errors.ts';

describe('detectFormat', () => {
  it.each([
    ['a.tsv', 'sentence1\tsentence2\tlabel', 'tsv'],
    ['a.txt', 'sentence1\tsentence2\tlabel', 'tsv'],
    ['msr_paraphrase_train.txt', 'Quality\t#1 ID\t#2 ID\t#1 String\t#2 String', 'mrpc-tsv'],
    ['dev.tsv', ' quality\t#1 id\t#2 id\t#1 string\t#2 STRING ', 'mrpc-tsv'],
    ['a.csv', 'question1,question2,is_duplicate', 'csv'],
    ['A.CSV', 'x,y', 'csv'],
    ['a.jsonl', '{"sentence1":"a, b\\t"}', 'jsonl'],
    ['a.ndjson', '{"x":1}', 'jsonl'],
    ['s3/key/no-extension', '{"x":1}', 'jsonl'],
    ['no-extension', 'a\tb,c', 'tsv'],
    ['no-extension', 'a,b', 'csv'],
    ['a.tsv', 'a,b,c', 'csv'],
    ['a.csv', 'a\tb\tc', 'tsv'],
    ['a.csv', 'a,b\tc', 'csv'],
    ['a.tsv', 'a,b\tc', 'tsv'],
    ['C:\\data\\a.csv', 'a,b', 'csv'],
  ])('%s with %j is %s', (file, line, format) => {
    expect(detectFormat(file, line)).toBe(format);
  });

  it('throws a DatasetError naming --format when nothing tells', () => {
    expect(() => detectFormat('a.tsv', 'one column only')).toThrow(DatasetError);
    expect(() => detectFormat('a.dat', 'x|y')).toThrow(/pass --format mrpc-tsv\|tsv\|csv\|jsonl/);
  });
});
