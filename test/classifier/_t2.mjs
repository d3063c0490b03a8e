import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
console.log(typeof tf.image.resizeBilinear, typeof tf.where, typeof tf.unsortedSegmentSum, typeof tf.avgPool);
