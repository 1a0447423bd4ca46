"""Compare Frugal's augmentation ops with PIL / torchvision (see verify-pil.ts). Run with /usr/bin/python3."""
import json
import os
import sys
from collections import defaultdict

import numpy as np
import torch
from PIL import Image, ImageOps
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode, RandAugment, TrivialAugmentWide
from torchvision.transforms.autoaugment import _apply_op

TV_NAME = {
    "identity": "Identity", "autocontrast": "AutoContrast", "equalize": "Equalize", "rotate": "Rotate",
    "solarize": "Solarize", "color": "Color", "posterize": "Posterize", "contrast": "Contrast",
    "brightness": "Brightness", "sharpness": "Sharpness", "shear-x": "ShearX", "shear-y": "ShearY",
    "translate-x": "TranslateX", "translate-y": "TranslateY",
}
NEAREST = InterpolationMode.NEAREST


def tv(img, name, mag):
    return _apply_op(img, name, mag, interpolation=NEAREST, fill=None)


def run(op, args, img, h, w):
    if op == "autocontrast": return ImageOps.autocontrast(img)
    if op == "equalize": return ImageOps.equalize(img)
    if op == "rotate": return F.rotate(img, args[0], interpolation=NEAREST)
    if op == "solarize": return F.solarize(img, args[0])
    if op == "color": return F.adjust_saturation(img, args[0])
    if op == "posterize": return F.posterize(img, args[0])
    if op == "contrast": return F.adjust_contrast(img, args[0])
    if op == "brightness": return F.adjust_brightness(img, args[0])
    if op == "sharpness": return F.adjust_sharpness(img, args[0])
    if op == "shearX": return tv(img, "ShearX", args[0])
    if op == "shearY": return tv(img, "ShearY", args[0])
    if op == "translateX": return tv(img, "TranslateX", args[0])
    if op == "translateY": return tv(img, "TranslateY", args[0])
    if op == "flipH": return F.hflip(img)
    if op == "invert": return F.invert(img)
    if op == "resizedCrop":
        t, l, ch, cw, oh, ow = args[:6]
        return F.resized_crop(img, t, l, ch, cw, [oh, ow], InterpolationMode.BILINEAR)
    if op == "padCrop":
        pad, dx, dy = args[:3]
        return F.crop(F.pad(img, pad), dy, dx, h, w)
    if op == "applyOp":
        name, b, sign, table = args[:4]
        if table == "wide":
            space = TrivialAugmentWide()._augmentation_space(31)
        else:
            space = RandAugment()._augmentation_space(31, (h, w))
        mags, signed = space[TV_NAME[name]]
        mag = float(mags[b].item()) if mags.ndim > 0 else 0.0
        if signed and sign < 0:
            mag *= -1.0
        return tv(img, TV_NAME[name], mag)
    raise ValueError(op)


def main():
    d = sys.argv[1]
    cases = json.load(open(os.path.join(d, "cases.json")))
    stats = defaultdict(lambda: [0, 0, 0, 0])  # cases, exact cases, differing pixels, max abs diff
    for cs in cases:
        h, w, c = cs["h"], cs["w"], cs["c"]
        raw = np.fromfile(os.path.join(d, cs["file"] + ".in"), dtype=np.uint8)
        ours = np.fromfile(os.path.join(d, cs["file"] + ".out"), dtype=np.uint8)
        arr = raw.reshape(h, w) if c == 1 else raw.reshape(h, w, 3)
        img = Image.fromarray(arr, "L" if c == 1 else "RGB")
        ref = np.asarray(run(cs["op"], cs["args"], img, h, w)).reshape(-1)
        key = cs["op"] if cs["op"] != "applyOp" else "applyOp:" + cs["args"][0] + ":" + cs["args"][3]
        s = stats[key]
        s[0] += 1
        if ref.shape != ours.shape:
            print("SHAPE MISMATCH", cs, ref.shape, ours.shape)
            s[2] += 10**9
            continue
        diff = np.abs(ref.astype(int) - ours.astype(int))
        if diff.max() == 0:
            s[1] += 1
        else:
            print("mismatch", cs["op"], cs["args"], (h, w, c), "pixels", int((diff > 0).sum()), "max", int(diff.max()))
        s[2] += int((diff > 0).sum())
        s[3] = max(s[3], int(diff.max()))
    bad = 0
    for k in sorted(stats):
        n, exact, px, mx = stats[k]
        bad += n - exact
        print(f"{k:32s} cases {n:4d} exact {exact:4d} diff-bytes {px:6d} max|diff| {mx}")
    print("ALL EXACT" if bad == 0 else f"{bad} cases differ")
    sys.exit(0 if bad == 0 else 1)


if __name__ == "__main__":
    main()
