import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpair } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';

// Issue 19, items 5 and 6: what a new user reads when a command line or a file is wrong.
const TRAIN = join(ROOT, 'examples', 'train.tsv');
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-messages-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('usage errors', () => {
  it('a mistyped flag gets the suggestion and a pointer to --help, not the whole help; exit 2', async () => {
    const res = await simpair(['run', '--data', TRAIN, '--out', join(work, 'x'), '--epoch', '3']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown option '--epoch'/);
    expect(res.stderr).toMatch(/Did you mean --epochs\?/);
    expect(res.stderr).toMatch(/--help lists the options/);
    expect(res.stderr).not.toMatch(/Options:/);
    expect(res.stderr.trim().split('\n').length).toBeLessThanOrEqual(4);
  });

  it('a bad number says what is allowed in words, not up to 9007199254740991', async () => {
    const res = await simpair(['run', '--data', TRAIN, '--out', join(work, 'x'), '--epochs', '0']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--epochs must be a whole number, 1 or more\./);
    expect(res.stderr).not.toMatch(/9007199254740991/);
    const port = await simpair(['serve', '--model-dir', work, '--port', '70000']);
    expect(port.stderr).toMatch(/--port must be a whole number from 0 to 65535\./);
  });

  it('flags that do not go together exit 2 (as the README says), with no class name in front', async () => {
    for (const args of [
      ['predict', '--model-dir', work, '--s1', 'a'],
      ['predict', '--model-dir', work, '--s1', 'a', '--s2', 'b', '--pairs', TRAIN],
      ['serve', '--model-dir', work, '--store', work],
    ]) {
      const res = await simpair(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(/^simpair: (predict needs|Give either|serve needs exactly one)/m);
      expect(res.stderr).not.toMatch(/\w+Error:/);
    }
  });
});

describe('--model-dir that holds no model', () => {
  it('says the directory does not exist, or is not a finished run, instead of No object "metadata.json"', async () => {
    const missing = await simpair(['predict', '--model-dir', join(work, 'nope'), '--s1', 'a', '--s2', 'b']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--model-dir .*nope does not exist; give the --out directory of a finished `simpair run`/);
    const empty = join(work, 'empty');
    await mkdir(empty);
    for (const cmd of [['evaluate', '--data', TRAIN], ['export'], ['predict', '--s1', 'a', '--s2', 'b']]) {
      const res = await simpair([cmd[0], '--model-dir', empty, ...cmd.slice(1)]);
      expect(res.code, cmd[0]).toBe(1);
      expect(res.stderr).toMatch(/holds no metadata\.json, so it is not a model `simpair run` finished/);
      expect(res.stderr).not.toMatch(/NotFoundError|No object/);
    }
  });
});

describe('messages carry no class-name prefix', () => {
  it('a bad dataset: "simpair: <file>: ..." and not "simpair: DatasetError: ..."', async () => {
    const bad = join(work, 'bad.tsv');
    await writeFile(bad, 'sentence1\tsentence2\tlabel\nA cat.\t\t1\n');
    const res = await simpair(['validate', '--data', bad]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^simpair: .*bad\.tsv/m);
    expect(res.stderr).not.toMatch(/^simpair: \w*Error:/m);
  });
});

describe('--help', () => {
  it('every command shows examples', async () => {
    for (const cmd of ['validate', 'run', 'predict', 'evaluate', 'export', 'serve']) {
      const res = await simpair([cmd, '--help']);
      expect(res.code).toBe(0);
      expect(res.stdout, cmd).toMatch(new RegExp(`Examples:\\n  \\$ simpair ${cmd} `));
    }
  });

  it("serve shows the defaults of the runs it starts; --skipped-report says each command's own default", async () => {
    const serve = (await simpair(['serve', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(serve).toMatch(/--max-len <n> maxLen of runs started here \(default: 128/);
    expect(serve).toMatch(/--epochs <n> epochs of runs started here \(default: 3/);
    const help = async (cmd: string) => /--skipped-report <file>(.*?) -h, --help/.exec((await simpair([cmd, '--help'])).stdout.replace(/\s+/g, ' '))![1];
    const texts = await Promise.all(['validate', 'run', 'evaluate', 'predict'].map(help));
    expect(new Set(texts).size).toBe(4);
    expect(texts[1]).toMatch(/inside --out/);
    expect(texts[0]).not.toMatch(/--out|--report/);
  });
});
