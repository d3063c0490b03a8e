import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { ENV_NAMES } from '../../functions/commons/env-names.ts';
import { handlerEntry, REPO_ROOT } from './paths.ts';

/** Options of {@link simpairFunction}. */
export interface SimpairFunctionOptions {
  /** Folder under functions/ holding index.ts. */
  readonly handler: string;
  readonly description: string;
  readonly architecture: lambda.Architecture;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly environment: Record<string, string>;
  /** Layers of the native runtimes the bundle requires: the onnxruntime-node layer for handlers that run BERT. @default none */
  readonly layers?: readonly lambda.ILayerVersion[];
  /** /tmp size; model files are cached there. @default 512 MiB */
  readonly ephemeralStorageSize?: Size;
  /** Concurrency kept for (and limiting) this function. @default none: the account's unreserved pool */
  readonly reservedConcurrentExecutions?: number;
  /** @default RemovalPolicy.DESTROY for the log group (logs of a deleted function) */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * Packages that must not be bundled: onnxruntime-node is a native addon shipped in the
 * onnxruntime layer. No handler imports TF.js (test/functions/lambda-bundles.test.ts checks
 * every bundle); it stays external so that an import slipping in fails that test and the
 * function, instead of bundling megabytes of TF.js without its backends' files. vega draws the
 * training report's charts, in the training step alone (the Batch image installs it; no
 * Lambda renders a report), and cannot be bundled as CommonJS (top-level await).
 */
export const EXTERNAL_MODULES = [
  'onnxruntime-node',
  'onnxruntime-common',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'vega',
];

/**
 * How every handler is bundled (esbuild, locally, never Docker); test/functions/lambda-bundles.test.ts
 * bundles the handlers with these same settings to check what each bundle requires.
 */
export const SIMPAIR_BUNDLING = {
  forceDockerBundling: false,
  // CommonJS, so that every external (onnxruntime-node, TF.js) is loaded with require(),
  // whose resolution honours NODE_PATH and so finds the layers in /opt/nodejs/node_modules
  // on Lambda and in test/lib/deployed-artefacts.test.ts alike. An ES module bundle would
  // depend on the runtime's own ESM-from-layer lookup, which stock Node does not have.
  format: OutputFormat.CJS,
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  // Bundle the SDK version the tests ran against instead of the runtime's copy.
  bundleAwsSDK: true,
  externalModules: EXTERNAL_MODULES,
  // The core reads import.meta.url (createRequire, package paths); in a CommonJS bundle it
  // is the bundle file's URL.
  banner: "const __simpairImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
  define: { 'import.meta.url': '__simpairImportMetaUrl' },
} satisfies BundlingOptions;

/**
 * A simpair handler as a NodejsFunction: nodejs22.x, esbuild locally (never Docker), CommonJS
 * output (see {@link SIMPAIR_BUNDLING}), JSON logs into a log group with a retention, and the env names shared with the
 * handlers.
 */
export function simpairFunction(scope: Construct, id: string, options: SimpairFunctionOptions): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: options.logRetention,
    removalPolicy: options.logRemovalPolicy ?? RemovalPolicy.DESTROY,
  });
  return new NodejsFunction(scope, id, {
    entry: handlerEntry(options.handler),
    handler: 'handler',
    description: options.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: options.architecture,
    memorySize: options.memorySize,
    timeout: options.timeout,
    ephemeralStorageSize: options.ephemeralStorageSize,
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    layers: [...(options.layers ?? [])],
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    projectRoot: REPO_ROOT,
    depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    environment: {
      [ENV_NAMES.logFormat]: 'json',
      [ENV_NAMES.cacheDir]: '/tmp/simpair-cache',
      NODE_OPTIONS: '--enable-source-maps',
      ...options.environment,
    },
    bundling: SIMPAIR_BUNDLING,
  });
}
