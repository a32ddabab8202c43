"""Cost of the CAS classifier on an ECG5000-sized problem, per part and for a whole 1000-epoch run.

CAS trains an FCN on ~1000 synthetic series (batch 256) and validates it on the real test set
after every epoch. This times one training epoch and one validation pass over 4500 test-sized
series, in float32 and under bf16 autocast, in this one process (median of `--repeats`), then
adds them up for a 1000-epoch run two ways:

* as first written: float32, every epoch validated in batches of 128;
* as tsstudio runs it: validation in the method's batches of 256, only in the epochs that can
  move the reported EMA by more than 1e-6 (`first_validated_epoch`), bf16 where the CPU has it.

Usage: python benchmarks/cas_cost.py [--threads 2] [--repeats 3] [--length 140]
"""

from __future__ import annotations

import argparse
import math

import torch
import torch.nn.functional as F
from timing import median_time

from tsstudio.eval.generative import first_validated_epoch
from tsstudio.models.fcn import FCN
from tsstudio.models.runtime import cpu_has_native_bf16


def autocast(dtype: torch.dtype | None) -> torch.autocast:
    return torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None)


def train_epoch(model: FCN, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, batch: int,
                dtype: torch.dtype | None) -> None:
    model.train()
    for start in range(0, x.shape[0], batch):
        with autocast(dtype):
            loss = F.cross_entropy(model(x[start : start + batch]).float(), y[start : start + batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


@torch.no_grad()
def validate(model: FCN, x: torch.Tensor, batch: int, dtype: torch.dtype | None) -> None:
    model.eval()
    with autocast(dtype):
        for start in range(0, x.shape[0], batch):
            model(x[start : start + batch]).argmax(1)



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--length", type=int, default=140)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=4500)
    parser.add_argument("--epochs", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.n_train, 1, args.length)
    y = torch.randint(0, 5, (args.n_train,))
    xv = torch.randn(args.n_test, 1, args.length)
    dtypes = [None, torch.bfloat16] if cpu_has_native_bf16() else [None]
    parts: dict[tuple[str, str], float] = {}
    for dtype in dtypes:
        name = "bf16" if dtype is not None else "fp32"
        model = FCN(5)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-5)
        parts[name, "train"] = median_time(lambda: train_epoch(model, opt, x, y, 256, dtype), args.repeats)  # noqa: B023
        for vb in (128, 256):
            parts[name, f"val{vb}"] = median_time(lambda: validate(model, xv, vb, dtype), args.repeats)  # noqa: B023
    print(f"FCN, {args.n_train} training series (batch 256), {args.n_test} validation series, length {args.length}, "
          f"{args.threads} threads, median of {args.repeats}")
    print("| precision | train epoch (s) | validation, batch 128 (s) | validation, batch 256 (s) |")
    print("|---|---|---|---|")
    for name in ("fp32", "bf16"):
        if (name, "train") in parts:
            print(f"| {name} | {parts[name, 'train']:.3f} | {parts[name, 'val128']:.3f} | {parts[name, 'val256']:.3f} |")
    e = args.epochs
    before = e * (parts["fp32", "train"] + parts["fp32", "val128"])
    validated = e - first_validated_epoch(e, math.ceil(args.n_test / 256))
    now_name = "bf16" if ("bf16", "train") in parts else "fp32"
    now = e * parts[now_name, "train"] + validated * parts[now_name, "val256"]
    exact_fp32 = e * parts["fp32", "train"] + validated * parts["fp32", "val256"]
    print()
    print(f"{e}-epoch CAS run: every epoch validated (fp32, batch 128): {before / 60:.1f} min")
    print(f"  validated epochs only ({validated} of {e}, fp32, batch 256): {exact_fp32 / 60:.1f} min "
          f"({before / exact_fp32:.2f}x)")
    print(f"  validated epochs only, {now_name}: {now / 60:.1f} min ({before / now:.2f}x)")


if __name__ == "__main__":
    main()
