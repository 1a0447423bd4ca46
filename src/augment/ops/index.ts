/** Functional augmentation ops (pure, deterministic, PIL/torchvision pixel semantics). */
export { type Fill } from './common.js';
export { identity, invert, posterize, solarize, applyLut, applyChannelLuts } from './point.js';
export { autocontrast, equalize, autocontrastLut, equalizeLut, histograms } from './histogram.js';
export { brightness, color, contrast, sharpness, blendByte, luma, grayMean } from './color.js';
export { affine, inverseAffineMatrix, rotate, shearX, shearY, translateX, translateY, flipH, padCrop, type AffineMatrix } from './geometry.js';
export { crop, resizeBilinear, randomResizedCrop, type CropBox } from './resize.js';
export { cutout } from './erase.js';
