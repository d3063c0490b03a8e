import { cpSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.ts';

/**
 * The Batch training container's `/app` as training/Dockerfile builds it (WORKDIR /app, the
 * files it copies; node_modules linked to this repository's), for running
 * `node --import tsx training/entry.ts` (the image's ENTRYPOINT) outside Docker. Shared by the
 * deployed-artefacts test and the cloud emulation.
 */
export function layOutTrainingApp(app: string): string {
  for (const p of ['src', 'functions/commons', 'training/entry.ts', 'tsconfig.json', 'package.json']) cpSync(join(ROOT, p), join(app, p), { recursive: true });
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  } catch {
    // already there from an earlier call
  }
  return app;
}

/** The image's ENTRYPOINT arguments after `node`. */
export const TRAINING_ENTRYPOINT = ['--import', 'tsx', 'training/entry.ts'];

/** The job definition's environment (`ContainerProperties.Environment`), each value resolved by `resolve`. */
export function jobDefinitionEnvironment(jobDefinition: { Properties?: Record<string, unknown> }, resolve: (value: unknown, where: string) => string): Record<string, string> {
  const environment = (jobDefinition.Properties!.ContainerProperties as { Environment?: { Name: string; Value: unknown }[] }).Environment ?? [];
  return Object.fromEntries(environment.map(({ Name, Value }) => [Name, resolve(Value, `job definition ${Name}`)]));
}


/**
 * The job definition's GPU request, if any. Outside Batch there is no GPU: the callers run the
 * same trainer on the wasm backend and unset SIMPAIR_EXPECT_GPU (which makes the entry refuse to
 * train without a GPU, as the GPU job definition sets it), saying so; that check has its own tests.
 */
export function withoutGpu(env: Record<string, string>, jobDefinition: { Properties?: Record<string, unknown> }): { env: Record<string, string>; gpus?: string } {
  const gpus = ((jobDefinition.Properties!.ContainerProperties as { ResourceRequirements?: { Type: string; Value: string }[] }).ResourceRequirements ?? []).find((r) => r.Type === 'GPU')?.Value;
  const { SIMPAIR_EXPECT_GPU: _expectGpu, ...rest } = env;
  return { env: gpus && 'SIMPAIR_EXPECT_GPU' in env ? rest : env, gpus };
}
