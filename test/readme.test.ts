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
});
