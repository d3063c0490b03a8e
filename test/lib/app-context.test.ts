import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Validations } from 'aws-cdk-lib';
import { buildApp, CONTEXT_KEYS } from '../../lib/app-context.ts';
import { AwsSolutionsChecks } from '../../lib/private/nag.ts';
import { ROOT } from '../helpers/paths.ts';
import { cdkJsonContext, synthOutdir } from './synth-stack.ts';

/** The README's table of `-c key=value` options: key -> the values it lists. */
function documentedContext(): Map<string, string[]> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('| context | values | default | effect |'));
  const rows = table.split('\n').slice(2).filter((l) => l.startsWith('| `'));
  return new Map(rows.map((row) => {
    const [, key, values] = row.split('|').map((c) => c.trim());
    return [key.replaceAll('`', ''), [...values.matchAll(/`([^`]+)`/g)].map((m) => m[1])];
  }));
}

/** A concrete value for the README's patterns (`s3://bucket/prefix/`, "a hub id"). */
function concrete(key: string, value: string): string[] {
  if (key === 'modelSource') return ['s3://other-bucket/encoders/bert-base-uncased/', 'bert-base-uncased'];
  if (key === 'trainingBaseImage') return [value.replace('<digest>', 'ab'.repeat(32))];
  return [value];
}

function synth(context: Record<string, string>): void {
  const app = buildApp({
    context: { ...cdkJsonContext(), ...context, 'aws:cdk:bundling-stacks': [] },
    outdir: synthOutdir('simpair-variant-'),
    env: { account: '123456789012', region: 'us-east-1' },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}

describe('cdk synth in every documented context variant (the app entry, cdk-nag on)', () => {
  const documented = documentedContext();

  it('documents exactly the context keys the app reads', () => {
    expect([...documented.keys()].sort()).toEqual([...CONTEXT_KEYS].sort());
  });

  const variants = [...documented.entries()].flatMap(([key, values]) => [...new Set(values.flatMap((v) => concrete(key, v)))].map((v) => [key, v] as const));
  it.each(variants)('-c %s=%s', (key, value) => {
    expect(() => synth({ [key]: value })).not.toThrow();
  });

  it('synthesizes every non-default option at once', () => {
    expect(() =>
      synth({ trainingCompute: 'cpu', apiAuth: 'apiKey', modelSource: 's3://other-bucket/m/', lambdaArchitecture: 'arm64', spotTraining: 'false', retainData: 'false', apiLogging: 'createRole' }),
    ).not.toThrow();
  });

  it('refuses an unknown value with the key, the value and the accepted ones', () => {
    expect(() => synth({ trainingCompute: 'gpus', lambdaArchitecture: 'x86' })).toThrow(/trainingCompute is "gpus"; use gpu or cpu[\s\S]*lambdaArchitecture is "x86"; use x86_64 or arm64/);
  });
});
