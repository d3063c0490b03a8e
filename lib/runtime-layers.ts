import { RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { buildOnnxRuntimeLayer, type LayerArch } from '../layers/onnxruntime/build.ts';

/** Props of {@link RuntimeLayers}. */
export interface RuntimeLayersProps {
  /** Architecture of the functions using the layer; picks the onnxruntime binaries kept. @default lambda.Architecture.X86_64 */
  readonly architecture?: lambda.Architecture;
  /** @default RemovalPolicy.DESTROY (old layer versions are of no use once replaced) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The runtime layer of the functions that run BERT (embed-shard, predict): onnxruntime-node
 * trimmed to one Linux architecture (~45 MB x64 / ~25 MB arm64 unzipped, instead of ~290 MB),
 * built at synth time by plain file copies (layers/onnxruntime/build.ts), no Docker.
 * No function takes TensorFlow.js: training runs in the Batch container, and prediction runs
 * `classifier.onnx` on ONNX Runtime (an older model's `model.json` is converted in memory).
 * The other functions take no layer at all.
 */
export class RuntimeLayers extends Construct {
  readonly onnxRuntime: lambda.LayerVersion;

  constructor(scope: Construct, id: string, props: RuntimeLayersProps = {}) {
    super(scope, id);
    const architecture = props.architecture ?? lambda.Architecture.X86_64;
    const arch: LayerArch = architecture === lambda.Architecture.ARM_64 ? 'arm64' : 'x64';
    this.onnxRuntime = new lambda.LayerVersion(this, 'OnnxRuntime', {
      code: lambda.Code.fromAsset(buildOnnxRuntimeLayer({ arch })),
      compatibleRuntimes: [lambda.Runtime.NODEJS_22_X],
      compatibleArchitectures: [architecture],
      description: `onnxruntime-node for linux/${arch} (other platforms removed)`,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }
}
