import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from '../../lib/private/nag.ts';
import { SimpairStack, type SimpairStackProps } from '../../lib/simpair-stack.ts';

/** Feature flags of cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;
}

/**
 * A fresh App with cdk.json's context. Asset bundling (esbuild per function) is skipped:
 * nothing asserted depends on the bundle's bytes, and it keeps a synth at a few seconds.
 */
export function testApp({ nag = true }: { nag?: boolean } = {}): App {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    outdir: mkdtempSync(join(tmpdir(), 'simpair-cdk-')),
  });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** Synthesizes a SimpairStack (nag on) and returns its template. */
export function synthStack(props: SimpairStackProps = {}): { app: App; stack: SimpairStack; template: Template } {
  const app = testApp();
  const stack = new SimpairStack(app, 'Test', { env: { account: '123456789012', region: 'us-east-1' }, ...props });
  return { app, stack, template: Template.fromStack(stack) };
}
