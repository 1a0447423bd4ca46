"""torchvision RandAugment(N, M) on PIL images, single-threaded throughput.

Usage: /usr/bin/python3 bench/augment/torch_randaugment.py [--images 64] [--size 224] [--seconds 3]
       [--n 2] [--m 9] [--serve]
Prints one JSON line {"images_per_s": ..., "images_per_cpu_s": ...} (wall clock and process CPU time). With --serve it prints {"ready": ...} once set up and
then answers each stdin line "run SECONDS" with one JSON line, so run.ts can interleave rounds.
"""
import argparse
import json
import sys
import time

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision.transforms import RandAugment


def make_images(count, s):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:s, 0:s]
    imgs = []
    for i in range(count):
        base = np.stack([np.sin(xx * (0.02 + 0.001 * i) + k) * np.cos(yy * 0.03 - k) for k in range(3)], -1)
        arr = np.clip(np.round((0.5 + 0.35 * base + rng.uniform(-0.15, 0.15, base.shape)) * 255), 0, 255).astype(np.uint8)
        imgs.append(Image.fromarray(arr, "RGB"))
    return imgs


def timed(ra, imgs, seconds):
    done = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    while True:
        for im in imgs:
            ra(im)
        done += len(imgs)
        el = time.perf_counter() - t0
        if el >= seconds:
            cpu = time.process_time() - c0
            return {"images": done, "seconds": el, "cpu_seconds": cpu, "images_per_s": done / el,
                    "images_per_cpu_s": done / cpu}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--m", type=int, default=9)
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    imgs = make_images(args.images, args.size)
    ra = RandAugment(num_ops=args.n, magnitude=args.m)
    for im in imgs[:32]:  # warm-up
        ra(im)
    versions = {"torchvision": torchvision.__version__, "pillow": PIL.__version__, "torch": torch.__version__}
    if not args.serve:
        print(json.dumps({**timed(ra, imgs, args.seconds), **versions}))
        return
    print(json.dumps({"ready": True, **versions}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] != "run":
            break
        print(json.dumps(timed(ra, imgs, float(parts[1]))), flush=True)


if __name__ == "__main__":
    main()
