/** File name of the exported classifier inside a model directory, beside `model.json`. */
export const CLASSIFIER_ONNX_FILE = 'classifier.onnx';
