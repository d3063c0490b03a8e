import * as tf from '@tensorflow/tfjs-core';
const w = await import('@tensorflow/tfjs-backend-wasm');
console.log(Object.keys(w).slice(0,20), typeof w.setWasmPaths);
console.log(tf.engine().backendName, Object.keys(tf.engine().registryFactory));
const c = await import('@tensorflow/tfjs-backend-cpu');
console.log(Object.keys(tf.engine().registryFactory), tf.findBackendFactory('wasm') != null);
