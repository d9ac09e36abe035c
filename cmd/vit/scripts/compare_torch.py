#!/usr/bin/env python3
"""Runs the same ViT in PyTorch (timm's VisionTransformer) and in vitnb (`vit bench`) on this machine,
alternating, and prints both throughputs and their ratio.

    python3 cmd/vit/scripts/compare_torch.py [--vit bin/vit] [--preset tiny32] [--rounds 2]

Needs: torch and timm from PyPI (tested with torch 2.15.0, timm 1.0.31). Same model as the vitnb preset: patch
embedding, class token, learned position embeddings, pre-norm blocks with exact GELU, LayerNorm eps 1e-6, head;
same optimizer for training (AdamW, weight decay 0.05, global-norm clipping at 1); random inputs; steady state
after warm-up steps, compilation excluded.
"""
import argparse
import json
import subprocess
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
    for _ in range(warmup):
        step()
    n, t0 = 0, time.perf_counter()
    while n < 5 or time.perf_counter() - t0 < min_time:
        step()
        n += 1
    elapsed = time.perf_counter() - t0
    return {"images_per_second": n * batch / elapsed, "steps": n, "compile_seconds": compile_s}


def vit_bench(vit, preset, mode, batch, backend, min_time):
    env_cmd = ["env", f"GOMLX_BACKEND={backend}"] if backend else []
    out = subprocess.run(env_cmd + [vit, "bench", "-preset", preset, "-mode", mode, "-batch", str(batch),
                                    "-time", f"{min_time}s", "-json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vit", default="bin/vit")
    ap.add_argument("--preset", default="tiny32")
    ap.add_argument("--train-batch", type=int, default=128)
    ap.add_argument("--infer-batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--time", type=float, default=15)
    ap.add_argument("--backends", default="go:ops_sequential,xla:cpu")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, timm {vt.__name__}")
    rows = []
    for mode, batch in (("train", args.train_batch), ("infer", args.infer_batch)):
        best = {}
        for _ in range(args.rounds):  # Alternate so that both see the same machine state.
            for be in args.backends.split(","):
                r = vit_bench(args.vit, args.preset, mode, batch, be, args.time)
                best[f"vitnb {be}"] = max(best.get(f"vitnb {be}", 0), r["images_per_second"])
            for compiled in ([False] if args.no_compile else [False, True]):
                name = "torch.compile" if compiled else "torch eager"
                r = torch_bench(args.preset, mode, batch, compiled, args.time)
                best[name] = max(best.get(name, 0), r["images_per_second"])
        for name, ips in best.items():
            rows.append((mode, batch, name, ips))
    print(f"\n{args.preset}: best of {args.rounds} alternating rounds, images/s")
    for mode, batch, name, ips in rows:
        ref = max(v for m, _, n, v in rows if m == mode and n.startswith("torch"))
        print(f"{mode:5s} batch {batch:4d}  {name:28s} {ips:9.1f}  ratio to best torch {ips / ref:5.2f}")


if __name__ == "__main__":
    main()
