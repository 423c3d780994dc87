"""PyTorch reference for the LeNet-5 training benchmark: the same model, optimizer, batch and threads as
the .NET runtime's benchmark, on random 28x28 inputs. Prints one line: samples per second."""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads, batch, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(1)

model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
samples = batch * 16
inputs = torch.randn(samples, 1, 28, 28)
labels = torch.randint(0, 10, (samples,))


def step(i):
    index = torch.randint(0, samples, (batch,))
    optimizer.zero_grad()
    loss = F.cross_entropy(model(inputs.index_select(0, index)), labels.index_select(0, index))
    loss.backward()
    optimizer.step()
    return loss.item()


for i in range(5):
    step(i)
start = time.perf_counter()
for i in range(steps):
    step(i)
elapsed = time.perf_counter() - start
print(f"{steps * batch / elapsed:.1f}")
