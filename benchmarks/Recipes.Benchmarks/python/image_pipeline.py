"""PIL + numpy reference for the image pipeline benchmark: for every image under a folder (the extensions our
ImageSet reads: JPEG, PNG, BMP, GIF, WebP), decode to RGB (a grey PNG becomes three equal channels), resize the
shorter side to 256 (PIL's antialiased BILINEAR), center crop 224, scale to 0..1, normalise with the ImageNet
means and stds, lay out as 3 x 224 x 224 float32, and stack batches of 32. Workers are threads (PIL and numpy
release the GIL) or processes. Prints one line: images per second over the timed passes, and the CPU
milliseconds spent per image (threads only: worker processes' time is not visible while they run; "nan").

    python3 image_pipeline.py FOLDER WORKERS thread|process MIN_SECONDS
"""
import glob
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
BATCH = 32
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def process(path):
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    scale = 256 / min(width, height)
    width, height = round(width * scale), round(height * scale)
    image = image.resize((width, height), Image.BILINEAR)
    left, top = (width - 224) // 2, (height - 224) // 2
    image = image.crop((left, top, left + 224, top + 224))
    values = (np.asarray(image, dtype=np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(values.transpose(2, 0, 1))


def one_pass(pool, files):
    count = 0
    for start in range(0, len(files), BATCH):
        batch = np.stack(list(pool.map(process, files[start:start + BATCH])))
        count += batch.shape[0]
    return count


def main():
    folder, workers, mode, min_seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    files = sorted(f for f in glob.glob(os.path.join(folder, "**", "*"), recursive=True) if f.lower().endswith(EXTENSIONS))
    executor = ThreadPoolExecutor if mode == "thread" else ProcessPoolExecutor
    with executor(max_workers=workers) as pool:
        one_pass(pool, files)  # warm-up: file cache, worker start
        images, start, cpu = 0, time.perf_counter(), time.process_time()
        while True:
            images += one_pass(pool, files)
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        cpu_ms = (time.process_time() - cpu) * 1000 / images if mode == "thread" else float("nan")
    print(f"{images / elapsed:.1f} {cpu_ms:.2f}")


if __name__ == "__main__":
    main()
