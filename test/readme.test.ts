import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLUMN_ALIASES } from '../src/data/private/column-aliases.ts';
import { ROOT } from './helpers/paths.ts';

// The README is what a new user trusts first: its claims that code can check are checked here.
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };

describe('README', () => {
  it('lists every column name the readers recognise', () => {
    const section = README.slice(README.indexOf('## Data formats'), README.indexOf('## Model sources'));
    for (const alias of Object.values(COLUMN_ALIASES).flat()) {
      expect(section.toLowerCase(), `alias ${alias}`).toContain(`\`${alias}\``);
    }
  });

  it('states the supported Node.js once, as package.json, the Lambda runtime and the training image have it', () => {
    const major = /^>=(\d+)$/.exec(PACKAGE.engines.node)?.[1];
    expect(major, `engines.node ${PACKAGE.engines.node}`).toBeDefined();
    const statements = [...README.matchAll(/Node(?:\.js)? (\d+)(?:\+| or newer| and newer|\.\d)/g)].map((m) => m[1]);
    expect(statements).toEqual([major]);
    expect(readFileSync(join(ROOT, 'lib', 'runtime-layers.ts'), 'utf8')).toContain(`NODEJS_${major}_X`);
    expect(readFileSync(join(ROOT, 'training', 'Dockerfile'), 'utf8')).toMatch(new RegExp(`ARG NODE_VERSION=${major}\\.`));
  });

  it('names the options of run and evaluate that exist, and no others', async () => {
    const { buildCli } = await import('../src/cli/main.ts');
    const cli = buildCli();
    for (const name of ['run', 'evaluate']) {
      const command = cli.commands.find((c) => c.name() === name)!;
      const row = README.split('\n').find((l) => l.startsWith(`| \`simpair ${name}`))!;
      const named = [...row.matchAll(/`(--[a-z0-9-]+)/g)].map((m) => m[1]);
      const known = new Set(command.options.map((o) => o.long));
      expect(named.filter((o) => !known.has(o)), `${name}: README options unknown to the CLI`).toEqual([]);
    }
  });

  // Issue 19, items 3, 4, 8 and 9: what a new user tripped over.
  const section = (from: string, to: string) => README.slice(README.indexOf(from), README.indexOf(to, README.indexOf(from) + 1));

  it("counts MRPC's training shards as the log does (shuffle: global (15 shards), not 16)", () => {
    // MRPC train has 4,076 pairs; run holds out the last ceil(10 %) for validation and shards by 256.
    const trainingRows = 4076 - Math.ceil(4076 * 0.1);
    const shards = Math.ceil(trainingRows / 256);
    expect(shards).toBe(15);
    expect(README).toContain(`\`shuffle: global (${shards} shards)\``);
    expect(README).not.toMatch(/shuffle: global \(16 shards\)/);
  });

  it('says what to expect from the Bi-LSTM against the encoder baseline, and not that it should beat it', () => {
    const baseline = section('## The encoder baseline', '## Beyond the recipe');
    expect(baseline).toMatch(/\*\*What to expect\.\*\*/);
    expect(baseline).toMatch(/0\.68 to\s+0\.69 accuracy/);
    expect(README).not.toMatch(/should beat/);
  });

  it('exports int8 only from a --padding masked model in its example, as export --quantized now refuses max-length with MiniLM', () => {
    const exportLine = README.split('\n').find((l) => l.startsWith('npx simpair export') && l.includes('--quantized'))!;
    expect(exportLine).toMatch(/masked/);
  });

  it('deploys to the profile\'s region (no hard-coded us-east-1 in commands), lists aws and awscurl, and uploads a local model', () => {
    const deploy = section('## Deploy to AWS', '### Costs');
    const commands = [...deploy.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
    expect(commands).not.toMatch(/us-east-1/);
    expect(commands).toMatch(/REGION=\$\(aws configure get region\)/);
    const prerequisites = section('### Prerequisites', '### Bootstrap');
    expect(prerequisites).toMatch(/AWS CLI v2/);
    expect(prerequisites).toMatch(/awscurl/);
    expect(commands).toMatch(/aws s3 cp --recursive models\/all-MiniLM-L6-v2 s3:\/\/\$BUCKET\/encoders\/all-MiniLM-L6-v2\//);
    expect(commands).toMatch(/cdk deploy -c modelSource=s3:\/\/\$BUCKET\/encoders\/all-MiniLM-L6-v2\//);
    expect(deploy).toMatch(/cdk synth --quiet/);
  });

  it('documents options.dataset of POST /train with every key the schema accepts but requireLabels/skipInvalid', async () => {
    const { DATASET_OPTION_KEYS } = await import('../src/data/index.ts');
    const local = section('## The same flow locally', '## Deploy to AWS');
    for (const key of DATASET_OPTION_KEYS.filter((k) => k !== 'requireLabels' && k !== 'skipInvalid')) expect(local, key).toContain(`\`${key}\``);
  });
});
