import { RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { buildOnnxRuntimeLayer, type LayerArch } from '../layers/onnxruntime/build.ts';
import { buildTfjsLayer } from '../layers/tfjs/build.ts';

/** Props of {@link RuntimeLayers}. */
export interface RuntimeLayersProps {
  /** Architecture of the functions using the layers; picks the onnxruntime binaries kept. @default lambda.Architecture.X86_64 */
  readonly architecture?: lambda.Architecture;
  /** @default RemovalPolicy.DESTROY (old layer versions are of no use once replaced) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The two layers every simpair function loads: onnxruntime-node trimmed to one Linux
 * architecture (~45 MB x64 / ~25 MB arm64 unzipped, instead of ~290 MB) and TF.js (~6 MB).
 * Both folders are built at synth time by plain file copies (layers/*\/build.ts), no Docker.
 */
export class RuntimeLayers extends Construct {
  readonly onnxRuntime: lambda.LayerVersion;
  readonly tfjs: lambda.LayerVersion;
  /** Both layers, in the order functions take them. */
  readonly all: readonly lambda.ILayerVersion[];

  constructor(scope: Construct, id: string, props: RuntimeLayersProps = {}) {
    super(scope, id);
    const architecture = props.architecture ?? lambda.Architecture.X86_64;
    const arch: LayerArch = architecture === lambda.Architecture.ARM_64 ? 'arm64' : 'x64';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.onnxRuntime = new lambda.LayerVersion(this, 'OnnxRuntime', {
      code: lambda.Code.fromAsset(buildOnnxRuntimeLayer({ arch })),
      compatibleRuntimes: [lambda.Runtime.NODEJS_22_X],
      compatibleArchitectures: [architecture],
      description: `onnxruntime-node for linux/${arch} (other platforms removed)`,
      removalPolicy,
    });
    this.tfjs = new lambda.LayerVersion(this, 'Tfjs', {
      code: lambda.Code.fromAsset(buildTfjsLayer()),
      compatibleRuntimes: [lambda.Runtime.NODEJS_22_X],
      description: 'TF.js core, layers, cpu and wasm backends (loaded by name at run time)',
      removalPolicy,
    });
    this.all = [this.onnxRuntime, this.tfjs];
  }
}
