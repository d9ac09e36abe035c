#!/usr/bin/env python3
"""Runs the same ViT in PyTorch (timm's VisionTransformer) and in vitnb (`vit bench`) on this machine,
alternating, and prints both throughputs and their ratio.

    python3 cmd/vit/scripts/compare_torch.py [--vit bin/vit] [--preset tiny32] [--rounds 2] [--glibc-tunables T]
        [--modes train,infer] [--backends go:ops_sequential,go:ops_sequential+fused,xla:cpu]

Needs: torch and timm from PyPI (tested with torch 2.15.0, timm 1.0.31). Same model as the vitnb preset: patch
embedding, class token, learned position embeddings, pre-norm blocks with exact GELU, LayerNorm eps 1e-6, head;
same optimizer for training (AdamW, weight decay 0.05, global-norm clipping at 1); random inputs; steady state
after warm-up steps, compilation excluded.

Every measurement runs in a process of its own, as `vit bench` does: PyTorch's speed depends on the state of
glibc's malloc that earlier work in the same process leaves behind (tiny32 inference at batch 256 ran at 272
images/s in a fresh process and at 411 after a few training steps in the same one), so measuring one after another
in one process would credit a measurement with its predecessor's warm-up. --glibc-tunables sets GLIBC_TUNABLES for
both sides (vit adds glibc.malloc.hugetlb=1 to it unless it sets that key itself; see README "Backends and speed").
A backend written BACKEND+fused or BACKEND+decomposed runs vit with VITNB_ATTENTION set to that formulation.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch
import timm.models.vision_transformer as vt

PRESETS = {  # name: image size, channels, patch, width, depth, heads, mlp, classes (vitnb/presets.go)
    "micro28": (28, 1, 4, 64, 4, 4, 128, 10),
    "tiny28": (28, 1, 4, 128, 6, 4, 256, 10),
    "micro32": (32, 3, 4, 64, 4, 4, 128, 10),
    "tiny32": (32, 3, 4, 192, 6, 3, 768, 10),
    "B/16": (224, 3, 16, 768, 12, 12, 3072, 1000),
}


def torch_model(preset):
    size, ch, patch, width, depth, heads, mlp, classes = PRESETS[preset]
    return vt.VisionTransformer(img_size=size, patch_size=patch, in_chans=ch, num_classes=classes,
                                embed_dim=width, depth=depth, num_heads=heads, mlp_ratio=mlp / width,
                                qkv_bias=True, class_token=True, global_pool="token")


def torch_bench(preset, mode, batch, compiled, min_time, warmup=3):
    size, ch = PRESETS[preset][0], PRESETS[preset][1]
    classes = PRESETS[preset][7]
    model = torch_model(preset)
    fn = torch.compile(model) if compiled else model
    x = torch.randn(batch, ch, size, size)
    y = torch.randint(0, classes, (batch,))
    if mode == "train":
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(fn(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    else:
        model.eval()

        def step():
            with torch.inference_mode():
                fn(x)
    t0 = time.perf_counter()
    step()
    compile_s = time.perf_counter() - t0
    seconds, n = seconds_per_call(step, min_time, warmup)
    return {"images_per_second": batch / seconds, "steps": n, "compile_seconds": compile_s}


def seconds_per_call(fn, min_time, warmup=3):
    """Calls fn warmup times, then times at least 5 calls and at least min_time seconds: (seconds per call, calls)."""
    for _ in range(warmup):
        fn()
    n, t0 = 0, time.perf_counter()
    while n < 5 or time.perf_counter() - t0 < min_time:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n, n


def torch_blocks(preset, batch, min_time=3.0):
    """Times the pieces of timm's first encoder block at inference on [batch, tokens, width] inputs, in ms per call:
    the counterparts of vitnb's BenchmarkInfer* benchmarks (vitnb/kernels_bench_test.go)."""
    size, _, patch, width, _, heads, _, _ = PRESETS[preset]
    tokens = (size // patch) ** 2 + 1
    block = torch_model(preset).eval().blocks[0]
    x = torch.randn(batch, tokens, width)
    q = torch.randn(batch, heads, tokens, width // heads)
    pieces = {
        "qkv (one [width x 3*width] product)": lambda: block.attn.qkv(x),
        "attention (scaled_dot_product_attention)": lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q),
        "mlp with residual": lambda: block.mlp(x) + x,
        "attention module (qkv, attention, projection)": lambda: block.attn(x),
        "whole block": lambda: block(x),
    }
    with torch.inference_mode():
        return {name: seconds_per_call(fn, min_time)[0] * 1e3 for name, fn in pieces.items()}


def child_env(tunables, **extra):
    env = dict(os.environ, **extra)
    if tunables is not None:
        env["GLIBC_TUNABLES"] = tunables
    return env


def torch_bench_process(preset, mode, batch, compiled, min_time, tunables):
    """Runs torch_bench in a fresh Python process (see the module's doc) and returns its result."""
    cmd = [sys.executable, __file__, "--worker", json.dumps([preset, mode, batch, compiled, min_time])]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=child_env(tunables))
    return json.loads(out.stdout)


def vit_bench(vit, preset, mode, batch, backend, min_time, tunables):
    backend, _, attention = backend.partition("+")
    extra = {"GOMLX_BACKEND": backend} if backend else {}
    if attention:
        extra["VITNB_ATTENTION"] = attention
    out = subprocess.run([vit, "bench", "-preset", preset, "-mode", mode, "-batch", str(batch), "-matmul", "0",
                          "-time", f"{min_time}s", "-json"], check=True, capture_output=True, text=True,
                         env=child_env(tunables, **extra))
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vit", default="bin/vit")
    ap.add_argument("--preset", default="tiny32")
    ap.add_argument("--train-batch", type=int, default=128)
    ap.add_argument("--infer-batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--time", type=float, default=15)
    ap.add_argument("--backends", default="go:ops_sequential,xla:cpu",
                    help="vit backends, comma-separated; BACKEND+fused or +decomposed forces the attention formulation")
    ap.add_argument("--modes", default="train,infer", help="train, infer or both (B/16 training does not fit 2 cores)")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    ap.add_argument("--glibc-tunables", default=None,
                    help="GLIBC_TUNABLES for both sides, e.g. glibc.malloc.hugetlb=1 (default: inherited)")
    ap.add_argument("--blocks", action="store_true",
                    help="only time the pieces of timm's encoder block at inference (ms), for vitnb's BenchmarkInfer*")
    ap.add_argument("--worker", help=argparse.SUPPRESS)  # Internal: one torch_bench in this process.
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(torch_bench(*json.loads(args.worker))))
        return
    if args.blocks:
        if args.glibc_tunables is not None and os.environ.get("GLIBC_TUNABLES") != args.glibc_tunables:
            # glibc reads its tunables at start: run this in a process that has them.
            os.execve(sys.executable, [sys.executable] + sys.argv, child_env(args.glibc_tunables))
        for name, ms in torch_blocks(args.preset, args.infer_batch).items():
            print(f"{args.preset} batch {args.infer_batch}  {name:48s} {ms:7.1f} ms")
        return
    tunables = args.glibc_tunables if args.glibc_tunables is not None else os.environ.get("GLIBC_TUNABLES")
    print(f"GLIBC_TUNABLES for both sides: {tunables or '(unset)'}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, timm {vt.__name__}")
    rows = []
    for mode, batch in (("train", args.train_batch), ("infer", args.infer_batch)):
        if mode not in args.modes.split(","):
            continue
        runs = {}
        for _ in range(args.rounds):  # Alternate so that both see the same machine state.
            for be in args.backends.split(","):
                r = vit_bench(args.vit, args.preset, mode, batch, be, args.time, args.glibc_tunables)
                runs.setdefault(f"vitnb {be}", []).append(r["images_per_second"])
            for compiled in ([False] if args.no_compile else [False, True]):
                name = "torch.compile" if compiled else "torch eager"
                r = torch_bench_process(args.preset, mode, batch, compiled, args.time, args.glibc_tunables)
                runs.setdefault(name, []).append(r["images_per_second"])
        for name, ips in runs.items():
            rows.append((mode, batch, name, max(ips), ips))
    print(f"\n{args.preset}: best of {args.rounds} alternating rounds, images/s (every round in brackets)")
    for mode, batch, name, ips, all_ips in rows:
        ref = max(v for m, _, n, v, _ in rows if m == mode and n.startswith("torch"))
        each = " ".join(f"{v:.1f}" for v in all_ips)
        print(f"{mode:5s} batch {batch:4d}  {name:28s} {ips:9.1f}  ratio to best torch {ips / ref:5.2f}  [{each}]")


if __name__ == "__main__":
    main()
