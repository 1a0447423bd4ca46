import './cnn.js';
import './resnet.js';
import './mobilenetv2.js';
export { getArch, listArchs, registerArch, FEATURES, LOGITS, PROBS, type ArchOptions, type ArchInfo } from './registry.js';
export { smallCnn } from './cnn.js';
export { cifarResNet } from './resnet.js';
export { mobileNetV2 } from './mobilenetv2.js';
