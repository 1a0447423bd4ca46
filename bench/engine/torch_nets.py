"""PyTorch CPU reference for Frugal's engine benchmark (bench/engine/run.ts).

Builds the same two reference nets as bench/engine/nets.ts, and net V
(torchvision's MobileNetV2 width 0.35 at 224 px, a new 10-class head: the shape
of Frugal's built-in trunk, bench/engine/net-v.ts), and reports inference and
training images/s as one JSON object on stdout (one thread unless --threads).

usage: /usr/bin/python3 bench/engine/torch_nets.py --net M|R|V --mode infer|train
                                                   [--iters N] [--warmup N] [--threads 1] [--batch N]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBnAct(nn.Sequential):
    def __init__(self, cin, cout, k, stride, groups=1, act=nn.ReLU6):
        super().__init__(
            nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups, bias=False),
            # eps/momentum as in tfjs-layers' BatchNormalization defaults
            nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01),
            act(inplace=False),
        )


def net_m(num_classes=10):
    layers = [ConvBnAct(3, 16, 3, 2)]
    cin = 16
    for cout, s in [(32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (256, 1), (512, 2)]:
        layers.append(ConvBnAct(cin, cin, 3, s, groups=cin))
        layers.append(ConvBnAct(cin, cout, 1, 1))
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes))


class Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                       nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        s = x if self.short is None else self.short(x)
        return F.relu(y + s)


def net_r(num_classes=10):
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32, eps=1e-3, momentum=0.01), nn.ReLU(),
        Basic(32, 32, 1), Basic(32, 64, 2), Basic(64, 128, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes))


def net_v(num_classes=10):
    import torchvision  # only net V needs it

    return torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=num_classes)


SPECS = {'M': (net_m, 96, 32), 'R': (net_r, 32, 64), 'V': (net_v, 224, 32)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--net', choices=['M', 'R', 'V'], required=True)
    ap.add_argument('--mode', choices=['infer', 'train'], required=True)
    ap.add_argument('--iters', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--batch', type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    build, size, batch = SPECS[a.net]
    if a.batch:
        batch = a.batch
    model = build()
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        if a.mode == 'infer':
            with torch.no_grad():
                model(x)
        else:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

    model.train(a.mode == 'train')
    if a.mode == 'infer':
        model.eval()
    for _ in range(a.warmup):
        step()
    times = []
    cpu = []  # this process's CPU time (all threads, user + system) per step
    for _ in range(a.iters):
        t0 = time.perf_counter()
        c0 = time.process_time()
        step()
        cpu.append(time.process_time() - c0)
        times.append(time.perf_counter() - t0)
    times.sort()
    cpu.sort()
    med = times[len(times) // 2]
    print(json.dumps({'net': a.net, 'mode': a.mode, 'batch': batch, 'threads': torch.get_num_threads(),
                      'torch': torch.__version__, 'median_s': med, 'img_per_s': batch / med,
                      'img_per_cpu_s': batch / cpu[len(cpu) // 2], 'times_s': times, 'cpu_s': cpu}))


if __name__ == '__main__':
    main()
