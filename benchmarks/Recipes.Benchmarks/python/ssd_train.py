"""PyTorch reference for the object-detection benchmark: the SSD of recipes/object-detection written again with
torchvision (random weights; speed does not depend on them), timed on the very inputs the .NET side used.

The .NET side writes one float32 file (little-endian, no header): the default boxes [P, 4] (cx, cy, w, h as
fractions of the image), the default-box rows of its SsdTargets for the batch [B, P, 6] (dx, dy, dw, dh, label,
0), and the images [B, 3, S, S] (0..255). The network here must predict for exactly P default boxes, or the script
stops: that checks the feature map sizes agree.

Backbones, as recipes/object-detection/DetectionBackbones.cs builds them:
  resnet18     torchvision resnet18 with a third BasicBlock in layer4 (the imported ImageNet model's 2,2,2,3
               layout), BGR minus a mean colour, batch norm frozen (eval, no gradients), stem and layer1 frozen
               and run without a graph, maps from layer2, layer3 and layer4;
  mobilenetv2  torchvision mobilenet_v2 features split after stride 8 (features[:7]), 16 ([7:14]) and 32 ([14:]),
               pixels / 127.5 - 1, batch norm learning.
Then SsdNetwork.cs: three extras (1x1 bottleneck, BN, ReLU, 3x3 with stride 2 pad 1 then two without padding, BN,
ReLU), 3x3 heads with 4 or 6 boxes per cell (DefaultBoxes.Ssd) and output channels rounded up to multiples of 16;
MultiBoxLoss.cs (smooth L1 + cross-entropy, 3:1 hard negatives, over the positives); Adam; SsdPostProcessing.cs
(softmax, decode with variances 0.1/0.2, per class score >= 0.01, best 200, NMS at 0.45 IoU, best 200 overall).

Each job builds a fresh model, runs WARMUP untimed steps, then STEPS timed ones, and prints one line: the job, the
median milliseconds per image, and the parameter count.

    python3 ssd_train.py INPUTS BATCH IMAGE_SIZE DEFAULT_BOXES CLASSES BACKBONE THREADS WARMUP STEPS JOB [JOB ...]
        JOB = train or infer; CLASSES = object classes without background
"""
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock

NEGATIVES_PER_POSITIVE = 3
CENTRE_VARIANCE, SIZE_VARIANCE = 0.1, 0.2
LEARNING_RATE = 1e-3


class ResNet18Features(nn.Module):
    channels = [128, 256, 512]

    def __init__(self):
        super().__init__()
        resnet = torchvision.models.resnet18()
        self.stem = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool)
        self.layer1, self.layer2, self.layer3 = resnet.layer1, resnet.layer2, resnet.layer3
        self.layer4 = nn.Sequential(*resnet.layer4, BasicBlock(512, 512))
        self.register_buffer("mean", torch.tensor([104.0, 117.0, 123.0]).view(1, 3, 1, 1))
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                for parameter in module.parameters():
                    parameter.requires_grad = False
        for stage in (self.stem, self.layer1):  # FreezeUpTo("layer1")
            for parameter in stage.parameters():
                parameter.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self

    def forward(self, images):
        x = images[:, [2, 1, 0]] - self.mean
        with torch.no_grad():
            x = self.layer1(self.stem(x))
        fine = self.layer2(x)
        middle = self.layer3(fine)
        return [fine, middle, self.layer4(middle)]


class MobileNetV2Features(nn.Module):
    channels = [32, 96, 1280]

    def __init__(self):
        super().__init__()
        features = torchvision.models.mobilenet_v2().features
        self.stride8, self.stride16, self.stride32 = features[:7], features[7:14], features[14:]

    def forward(self, images):
        fine = self.stride8(images / 127.5 - 1)
        middle = self.stride16(fine)
        return [fine, middle, self.stride32(middle)]


def extra(inputs, bottleneck, outputs, stride, padding):
    return nn.Sequential(
        nn.Conv2d(inputs, bottleneck, 1, bias=False), nn.BatchNorm2d(bottleneck), nn.ReLU(),
        nn.Conv2d(bottleneck, outputs, 3, stride=stride, padding=padding, bias=False), nn.BatchNorm2d(outputs), nn.ReLU())


def head_channels(predicted):
    return (predicted + 15) // 16 * 16


class Ssd(nn.Module):
    def __init__(self, backbone, object_classes):
        super().__init__()
        self.backbone = backbone
        self.scores = object_classes + 1
        last = backbone.channels[-1]
        self.extras = nn.ModuleList([extra(last, 256, 512, 2, 1), extra(512, 128, 256, 1, 0), extra(256, 128, 256, 1, 0)])
        channels = backbone.channels + [512, 256, 256]
        # DefaultBoxes.Ssd: aspect ratios {2} (4 boxes) on the first and the last two maps, {2, 3} (6) elsewhere.
        self.boxes_per_cell = [4 if k == 0 or k >= len(channels) - 2 else 6 for k in range(len(channels))]
        self.locations = nn.ModuleList(
            [nn.Conv2d(c, head_channels(b * 4), 3, padding=1) for c, b in zip(channels, self.boxes_per_cell)])
        self.confidences = nn.ModuleList(
            [nn.Conv2d(c, head_channels(b * self.scores), 3, padding=1) for c, b in zip(channels, self.boxes_per_cell)])
        for head in list(self.locations) + list(self.confidences):
            nn.init.xavier_uniform_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, images):
        maps = self.backbone(images)
        x = maps[-1]
        for layer in self.extras:
            x = layer(x)
            maps.append(x)
        n = images.shape[0]
        per_map = []
        for m, feature in enumerate(maps):
            boxes = self.boxes_per_cell[m]
            offsets = self.locations[m](feature)[:, :boxes * 4].permute(0, 2, 3, 1).reshape(n, -1, 4)
            scores = self.confidences[m](feature)[:, :boxes * self.scores].permute(0, 2, 3, 1).reshape(n, -1, self.scores)
            per_map.append(torch.cat([offsets, scores], 2))
        return torch.cat(per_map, 1)


def multibox_loss(output, target):
    n, priors = output.shape[0], output.shape[1]
    labels = target[:, :, 4].long()
    positive = labels > 0
    positives_per_image = positive.sum(1)
    localisation = F.smooth_l1_loss(output[:, :, :4][positive], target[:, :, :4][positive], reduction="sum")
    scores = output[:, :, 4:]
    class_loss = F.cross_entropy(scores.reshape(-1, scores.shape[2]), labels.reshape(-1), reduction="none").view(n, priors)
    with torch.no_grad():
        rank = class_loss.masked_fill(positive, float("-inf")).argsort(1, descending=True).argsort(1)
        wanted = (positives_per_image * NEGATIVES_PER_POSITIVE).clamp(max=priors - 1).unsqueeze(1)
        kept_negative = (rank < wanted) & ~positive
    classification = class_loss[positive | kept_negative].sum()
    count = positives_per_image.sum().clamp(min=1).to(output.dtype)
    return (localisation + classification) / count


def detect(output, priors, minimum_score=0.01, candidates_per_class=200, overlap=0.45, max_detections=200):
    offsets, probabilities = output[:, :, :4], output[:, :, 4:].softmax(2)
    cx = priors[:, 0] + offsets[:, :, 0] * CENTRE_VARIANCE * priors[:, 2]
    cy = priors[:, 1] + offsets[:, :, 1] * CENTRE_VARIANCE * priors[:, 3]
    w = priors[:, 2] * torch.exp((offsets[:, :, 2] * SIZE_VARIANCE).clamp(max=10))
    h = priors[:, 3] * torch.exp((offsets[:, :, 3] * SIZE_VARIANCE).clamp(max=10))
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 2).clamp(0, 1)
    usable = (boxes[:, :, 2] > boxes[:, :, 0]) & (boxes[:, :, 3] > boxes[:, :, 1])
    results = []
    for image in range(output.shape[0]):
        kept_boxes, kept_scores, kept_classes = [], [], []
        for c in range(1, probabilities.shape[2]):  # 0 is background
            scores = probabilities[image, :, c]
            candidates = ((scores >= minimum_score) & usable[image]).nonzero().squeeze(1)
            if candidates.numel() == 0:
                continue
            scores = scores[candidates]
            if scores.numel() > candidates_per_class:
                scores, best = scores.topk(candidates_per_class)
                candidates = candidates[best]
            class_boxes = boxes[image, candidates]
            keep = torchvision.ops.nms(class_boxes, scores, overlap)
            kept_boxes.append(class_boxes[keep])
            kept_scores.append(scores[keep])
            kept_classes.append(torch.full((keep.numel(),), c - 1))
        if not kept_scores:
            results.append((torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long)))
            continue
        scores = torch.cat(kept_scores)
        order = scores.argsort(descending=True)[:max_detections]
        results.append((torch.cat(kept_boxes)[order], scores[order], torch.cat(kept_classes)[order]))
    return results


def measure(job, backbone_name, classes, images, targets, priors, warmup, steps):
    model = Ssd(ResNet18Features() if backbone_name == "resnet18" else MobileNetV2Features(), classes)
    batch = images.shape[0]
    if job == "train":
        model.train()
        trained = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trained, lr=LEARNING_RATE, weight_decay=5e-4 * LEARNING_RATE)

        def step():
            optimizer.zero_grad(set_to_none=True)  # libtorch 2's default, which TorchSharp uses
            multibox_loss(model(images), targets).backward()
            optimizer.step()
    elif job == "infer":
        model.eval()

        def step():
            with torch.no_grad():
                detect(model(images), priors)
    else:
        raise ValueError(f"unknown job {job!r}: train or infer")
    with torch.no_grad():
        predicted = model.eval()(images[:1]).shape[1]
    if predicted != priors.shape[0]:
        raise ValueError(f"the PyTorch network predicts for {predicted} default boxes, the .NET one for {priors.shape[0]}")
    model.train(job == "train")
    for _ in range(warmup):
        step()
    per_image = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        per_image.append((time.perf_counter() - start) * 1000 / batch)
    return statistics.median(per_image), sum(p.numel() for p in model.parameters())


def main():
    path = sys.argv[1]
    batch, size, prior_count, classes = (int(a) for a in sys.argv[2:6])
    backbone_name = sys.argv[6]
    threads, warmup, steps = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
    if backbone_name not in ("resnet18", "mobilenetv2"):
        raise ValueError(f"unknown backbone {backbone_name!r}")
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    values = np.fromfile(path, dtype="<f4")
    sizes = [prior_count * 4, batch * prior_count * 6, batch * 3 * size * size]
    if values.size != sum(sizes):
        raise ValueError(f"{path} holds {values.size} floats, expected {sum(sizes)}")
    priors = torch.from_numpy(values[:sizes[0]].copy()).view(prior_count, 4)
    targets = torch.from_numpy(values[sizes[0]:sizes[0] + sizes[1]].copy()).view(batch, prior_count, 6)
    images = torch.from_numpy(values[sizes[0] + sizes[1]:].copy()).view(batch, 3, size, size)
    for job in sys.argv[10:]:
        milliseconds, parameters = measure(job, backbone_name, classes, images, targets, priors, warmup, steps)
        print(f"{job} {milliseconds:.3f} {parameters}", flush=True)


if __name__ == "__main__":
    main()
