"""PyTorch reference for bench/classify/run.ts: decode, resize and classify a list of photos with
torchvision's MobileNetV2-0.35 (224 px), PyTorch's default threads, batches of 32. Prints one JSON object.

usage: /usr/bin/python3 bench/classify/torch_classify.py --list files.txt [--batch 32]
"""
import argparse
import json
import time

import torch
import torchvision
from PIL import Image

p = argparse.ArgumentParser()
p.add_argument("--list", required=True)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
a = p.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
files = [line.strip() for line in open(a.list) if line.strip()]
model = torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=12).eval()
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
start = time.perf_counter()
top = []
with torch.no_grad():
    for s in range(0, len(files), a.batch):
        imgs = []
        for f in files[s : s + a.batch]:
            im = Image.open(f).convert("RGB").resize((224, 224), Image.BILINEAR)
            imgs.append(torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(224, 224, 3))
        x = torch.stack(imgs).permute(0, 3, 1, 2).float().div(255).sub(mean).div(std)
        top.extend(model(x).argmax(1).tolist())
seconds = time.perf_counter() - start
print(json.dumps({"images": len(top), "seconds": seconds, "img_per_s": len(top) / seconds, "threads": torch.get_num_threads()}))
