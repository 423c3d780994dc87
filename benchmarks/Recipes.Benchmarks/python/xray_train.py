"""PyTorch reference for the xray benchmark: torchvision's ResNet-18 (random weights; speed does not depend on
them) with its fc replaced by Dropout(0.2) + Linear(512, 14), binary cross-entropy with logits on random 0/1
targets, Adam lr 1e-4, random [B, 3, 224, 224] inputs, the given number of intra-op threads. Each job builds a
fresh model, runs WARMUP untimed steps, then STEPS timed ones, and prints one line: the job, the median
milliseconds per image, and the model's parameter count.

    python3 xray_train.py THREADS WARMUP STEPS JOB [JOB ...]     JOB = train:BATCH or infer:BATCH
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

FINDINGS = 14


def classifier():
    model = torchvision.models.resnet18()
    model.fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(512, FINDINGS))
    return model


def measure(job, warmup, steps):
    mode, batch = job.split(":")
    batch = int(batch)
    model = classifier()
    inputs = torch.randn(batch, 3, 224, 224)
    if mode == "train":
        model.train()
        targets = (torch.rand(batch, FINDINGS) < 0.5).float()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step():
            optimizer.zero_grad(set_to_none=True)  # libtorch 2's default, which TorchSharp uses
            F.binary_cross_entropy_with_logits(model(inputs), targets).backward()
            optimizer.step()
    elif mode == "infer":
        model.eval()

        def step():
            with torch.no_grad():
                model(inputs)
    else:
        raise ValueError(f"unknown job {job!r}: train:BATCH or infer:BATCH")
    for _ in range(warmup):
        step()
    per_image = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        per_image.append((time.perf_counter() - start) * 1000 / batch)
    return statistics.median(per_image), sum(p.numel() for p in model.parameters())


def main():
    threads, warmup, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    for job in sys.argv[4:]:
        milliseconds, parameters = measure(job, warmup, steps)
        print(f"{job} {milliseconds:.3f} {parameters}", flush=True)


if __name__ == "__main__":
    main()
