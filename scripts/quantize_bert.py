"""Writes the int8 BERT of a model directory: onnx/model.onnx -> onnx/model_quantized.onnx.

Dynamic quantisation (int8 weights per channel, activations quantised at run time), the way
Xenova's model_quantized.onnx files are made, so `--quantized` can be tried on any local model.
Usage: .venv/bin/python scripts/quantize_bert.py MODEL_DIR
"""
import sys
from pathlib import Path

from bert_common import quantize_int8

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    model_dir = Path(sys.argv[1])
    seconds = quantize_int8(model_dir / "onnx" / "model.onnx", model_dir / "onnx" / "model_quantized.onnx")
    print(f"wrote {model_dir / 'onnx' / 'model_quantized.onnx'} in {seconds:.1f}s")
