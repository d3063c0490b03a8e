import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { afterAll } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from '../../lib/private/nag.ts';
import { SimpairStack, type SimpairStackProps } from '../../lib/simpair-stack.ts';

/** Feature flags of cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;
}

const outdirs: string[] = [];
// Each synth stages the stack's assets (the onnxruntime layer alone is ~30 MB): removed when
// the test file ends, or every test run would leave gigabytes in the temp directory.
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temporary cdk.out for one synth, removed after the test file. */
export function synthOutdir(prefix = 'simpair-cdk-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  outdirs.push(dir);
  return dir;
}

/**
 * A fresh App with cdk.json's context. Asset bundling (esbuild per function) is skipped:
 * nothing asserted depends on the bundle's bytes, and it keeps a synth at a few seconds.
 */
export function testApp({ nag = true }: { nag?: boolean } = {}): App {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    outdir: synthOutdir(),
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

/** The state machine definition with tokens replaced by a placeholder, parsed. */
export function stateMachineDefinition(template: Template): { States: Record<string, Record<string, unknown>>; TimeoutSeconds?: number } {
  const [sm] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as { Properties: { DefinitionString: unknown } }[];
  const def = sm.Properties.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof def === 'string' ? def : def['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return JSON.parse(text) as { States: Record<string, Record<string, unknown>>; TimeoutSeconds?: number };
}

/** Every state of a definition, nested Map processors included. */
export function allStates(states: Record<string, Record<string, unknown>>): [string, Record<string, unknown>][] {
  return Object.entries(states).flatMap(([name, s]) => {
    const inner = (s.ItemProcessor as { States?: Record<string, Record<string, unknown>> } | undefined)?.States;
    return [[name, s] as [string, Record<string, unknown>], ...(inner ? allStates(inner) : [])];
  });
}

