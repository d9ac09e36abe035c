#!/usr/bin/env python3
"""Writes random-weight ViT checkpoints in the three formats vitnb loads, with reference logits.

Pinned versions (PyPI), as used to write the committed fixtures:
    torch==2.15.0 timm==1.0.31 transformers==5.24.0 safetensors==0.8.0 numpy==2.4.6 scipy==1.17.1

    python3 -m venv .venv && .venv/bin/pip install torch==2.15.0 timm==1.0.31 transformers==5.24.0 \
        safetensors==0.8.0 numpy==2.4.6 scipy==1.17.1

Small fixtures (committed; Go tests read them without Python):
    .venv/bin/python vitnb/weights/testdata/make_fixtures.py            # writes vitnb/weights/testdata/

Full size, ViT-B/16 at 224 with 1000 classes (about 1 GB, not committed):
    .venv/bin/python vitnb/weights/testdata/make_fixtures.py --full /tmp/vitb16
    VITNB_FULL_PARITY_DIR=/tmp/vitb16 go test -run TestFullSizeParity -v ./vitnb/weights/

SaveTimm output loads in timm (the Go test writes the files, timm reads them back):
    VITNB_KEEP_SAVED=/tmp/saved go test -run TestSaveTimmRoundTrip ./vitnb/weights/
    .venv/bin/python vitnb/weights/testdata/make_fixtures.py --check-saved /tmp/saved

What each reference is (all logits in float32, inputs NHWC in [-1, 1], given to PyTorch as NCHW):
  timm.safetensors      timm VisionTransformer, exact GELU, LayerNorm eps 1e-6, state_dict saved as is.
                        refs["timm"] = its logits.
  hf/                   transformers ViTForImageClassification (save_pretrained: model.safetensors + config.json,
                        layer_norm_eps 1e-12, hidden_act "gelu" = exact). refs["hf"] = its logits.
  google.npz            Google's names and layouts (vit_jax), converted here from a timm model built with
                        tanh GELU (nn.GELU(approximate="tanh"), what jax.nn.gelu computes). refs["google"] = that
                        timm model's logits. The file is checked by loading it back with timm's own npz loader
                        (timm.models.vision_transformer._load_weights) into a fresh tanh-GELU model: same logits.
  google_gap.npz        Google names, mean pooling ("gap": encoder_norm then mean over tokens, no class token) and a
                        pre_logits layer (Dense + tanh). refs["google_gap"] = a float64 numpy implementation of
                        vit_jax's forward pass (tanh GELU), cast to float32. The same numpy code is checked against
                        timm on google.npz (difference printed).
  refs["timm_24_bicubic"]  the timm model of timm.safetensors run on 24x24 images (grid 6 instead of 4) after
                        timm.layers.resample_abs_pos_embed (bicubic, antialias, timm's default for loading).
  posembed.npz          the 4x4 position-embedding grid of timm.safetensors resized to 6x6 and 3x3 by timm
                        (bicubic, antialias) and by scipy.ndimage.zoom(order=1), as vit_jax's checkpoint loader.
"""
import argparse
import functools
import json
import os

import numpy as np
import scipy.ndimage
import torch
import torch.nn as nn
from safetensors.torch import save_file
from timm.layers import resample_abs_pos_embed
from timm.models.vision_transformer import VisionTransformer, _load_weights
from transformers import ViTConfig, ViTForImageClassification

SMALL = dict(image=16, patch=4, width=24, depth=2, heads=3, mlp=48, classes=5)
FULL = dict(image=224, patch=16, width=768, depth=12, heads=12, mlp=3072, classes=1000)


def randomize(model, gen):
    """Gives every parameter random values of a realistic scale (unit-gain matrices, non-trivial norms and biases)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2 and "pos_embed" not in name and "position_embeddings" not in name and "cls" not in name:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / np.sqrt(fan_in))
            elif ("norm" in name or "layernorm" in name) and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def timm_model(c, gelu="exact", pooling="token"):
    act = functools.partial(nn.GELU, approximate="tanh") if gelu == "tanh" else nn.GELU
    kw = dict(img_size=c["image"], patch_size=c["patch"], in_chans=3, num_classes=c["classes"], embed_dim=c["width"],
              depth=c["depth"], num_heads=c["heads"], mlp_ratio=c["mlp"] / c["width"], qkv_bias=True, act_layer=act)
    if pooling == "gap":
        kw.update(class_token=False, global_pool="avg", fc_norm=False)
    return VisionTransformer(**kw).eval()


def logits_of(model, images_nhwc):
    with torch.no_grad():
        out = model(torch.from_numpy(images_nhwc).permute(0, 3, 1, 2).contiguous())
    return (out.logits if hasattr(out, "logits") else out).numpy().astype(np.float32)


def timm_to_google(sd, heads):
    """timm state dict -> Google vit_jax .npz names and layouts (the inverse of timm's _load_weights)."""
    t = {k: v.detach().numpy().astype(np.float32) for k, v in sd.items()}
    d = t["patch_embed.proj.weight"].shape[0]
    hd = d // heads
    g = {"embedding/kernel": t["patch_embed.proj.weight"].transpose(2, 3, 1, 0),
         "embedding/bias": t["patch_embed.proj.bias"],
         "Transformer/posembed_input/pos_embedding": t["pos_embed"],
         "Transformer/encoder_norm/scale": t["norm.weight"], "Transformer/encoder_norm/bias": t["norm.bias"],
         "head/kernel": t["head.weight"].T, "head/bias": t["head.bias"]}
    if "cls_token" in t:
        g["cls"] = t["cls_token"]
    i = 0
    while f"blocks.{i}.norm1.weight" in t:
        b, s = f"Transformer/encoderblock_{i}/", f"blocks.{i}."
        g[b + "LayerNorm_0/scale"], g[b + "LayerNorm_0/bias"] = t[s + "norm1.weight"], t[s + "norm1.bias"]
        g[b + "LayerNorm_2/scale"], g[b + "LayerNorm_2/bias"] = t[s + "norm2.weight"], t[s + "norm2.bias"]
        w, bias = t[s + "attn.qkv.weight"], t[s + "attn.qkv.bias"]
        for j, n in enumerate(["query", "key", "value"]):
            g[b + f"MultiHeadDotProductAttention_1/{n}/kernel"] = w[j * d:(j + 1) * d].T.reshape(d, heads, hd)
            g[b + f"MultiHeadDotProductAttention_1/{n}/bias"] = bias[j * d:(j + 1) * d].reshape(heads, hd)
        g[b + "MultiHeadDotProductAttention_1/out/kernel"] = t[s + "attn.proj.weight"].T.reshape(heads, hd, d)
        g[b + "MultiHeadDotProductAttention_1/out/bias"] = t[s + "attn.proj.bias"]
        g[b + "MlpBlock_3/Dense_0/kernel"], g[b + "MlpBlock_3/Dense_0/bias"] = t[s + "mlp.fc1.weight"].T, t[s + "mlp.fc1.bias"]
        g[b + "MlpBlock_3/Dense_1/kernel"], g[b + "MlpBlock_3/Dense_1/bias"] = t[s + "mlp.fc2.weight"].T, t[s + "mlp.fc2.bias"]
        i += 1
    return {k: np.ascontiguousarray(v) for k, v in g.items()}


def numpy_google_forward(p, x, eps=1e-6):
    """vit_jax's forward pass in float64 numpy on a dict of Google-named arrays (tanh GELU, as jax.nn.gelu)."""
    p = {k: v.astype(np.float64) for k, v in p.items()}
    x = x.astype(np.float64)
    k = p["embedding/kernel"]
    ps, _, c, d = k.shape
    b, h, _, _ = x.shape
    n = h // ps
    t = x.reshape(b, n, ps, n, ps, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, n * n, ps * ps * c)
    t = t @ k.reshape(-1, d) + p["embedding/bias"]
    if "cls" in p:
        t = np.concatenate([np.broadcast_to(p["cls"], (b, 1, d)), t], axis=1)
    t = t + p["Transformer/posembed_input/pos_embedding"]

    def ln(v, prefix):
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return (v - mu) / np.sqrt(var + eps) * p[prefix + "/scale"] + p[prefix + "/bias"]

    def gelu_tanh(v):
        return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3)))

    i = 0
    while f"Transformer/encoderblock_{i}/LayerNorm_0/scale" in p:
        blk = f"Transformer/encoderblock_{i}/"
        a = blk + "MultiHeadDotProductAttention_1/"
        y = ln(t, blk + "LayerNorm_0")
        q, kk, v = (np.einsum("btd,dhk->bthk", y, p[a + n + "/kernel"]) + p[a + n + "/bias"] for n in ("query", "key", "value"))
        s = np.einsum("bqhk,bshk->bhqs", q, kk) / np.sqrt(q.shape[-1])
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        o = np.einsum("bhqs,bshk->bqhk", s, v)
        t = t + np.einsum("bqhk,hkd->bqd", o, p[a + "out/kernel"]) + p[a + "out/bias"]
        m = blk + "MlpBlock_3/"
        y = ln(t, blk + "LayerNorm_2")
        y = gelu_tanh(y @ p[m + "Dense_0/kernel"] + p[m + "Dense_0/bias"]) @ p[m + "Dense_1/kernel"] + p[m + "Dense_1/bias"]
        t = t + y
        i += 1
    t = ln(t, "Transformer/encoder_norm")
    r = t[:, 0] if "cls" in p else t.mean(1)
    if "pre_logits/kernel" in p:
        r = np.tanh(r @ p["pre_logits/kernel"] + p["pre_logits/bias"])
    return (r @ p["head/kernel"] + p["head/bias"]).astype(np.float32)


def hf_model(c):
    cfg = ViTConfig(image_size=c["image"], patch_size=c["patch"], num_channels=3, hidden_size=c["width"],
                    num_hidden_layers=c["depth"], num_attention_heads=c["heads"], intermediate_size=c["mlp"],
                    hidden_act="gelu", layer_norm_eps=1e-12, qkv_bias=True, num_labels=c["classes"])
    return ViTForImageClassification(cfg).eval()


def check_saved(saved, fixtures):
    """Loads the files TestSaveTimmRoundTrip wrote (VITNB_KEEP_SAVED) into timm models and compares the logits."""
    from safetensors.torch import load_file
    inp, refs = np.load(os.path.join(fixtures, "inputs.npz")), np.load(os.path.join(fixtures, "refs.npz"))
    for name, gelu, eps in [("google", "tanh", 1e-6), ("hf", "exact", 1e-12)]:
        m = timm_model(SMALL, gelu=gelu)
        for mod in m.modules():
            if isinstance(mod, nn.LayerNorm):
                mod.eps = eps
        m.load_state_dict(load_file(os.path.join(saved, name + ".timm.safetensors")))
        print(f"{name}: timm.load_state_dict(SaveTimm output), max |logit diff| vs reference =",
              np.abs(logits_of(m, inp["image"]) - refs[name]).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--full", metavar="DIR", help="write the full-size ViT-B/16 checkpoints to DIR instead")
    ap.add_argument("--check-saved", metavar="DIR", help="load vitnb's SaveTimm outputs from DIR into timm and compare")
    args = ap.parse_args()
    if args.check_saved:
        check_saved(args.check_saved, args.out)
        return
    c = FULL if args.full else SMALL
    out = args.full or args.out
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(2024)
    rng = np.random.default_rng(2024)
    n_images = 1 if args.full else 2
    image = rng.uniform(-1, 1, (n_images, c["image"], c["image"], 3)).astype(np.float32)
    inputs = {"image": image}
    refs = {}

    # timm, exact GELU.
    m = timm_model(c)
    randomize(m, gen)
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, os.path.join(out, "timm.safetensors"),
              metadata={"format": "pt"})
    refs["timm"] = logits_of(m, image)
    if not args.full:
        # The same weights at 24x24: position embeddings resampled as timm does when loading.
        image24 = rng.uniform(-1, 1, (1, 24, 24, 3)).astype(np.float32)
        inputs["image24"] = image24
        m24 = timm_model(dict(c, image=24))
        sd = dict(m.state_dict())
        pos = sd["pos_embed"]
        sd["pos_embed"] = resample_abs_pos_embed(pos, new_size=(6, 6), num_prefix_tokens=1, interpolation="bicubic",
                                                 antialias=True)
        m24.load_state_dict(sd)
        refs["timm_24_bicubic"] = logits_of(m24, image24)
        grid = pos[0, 1:].detach().numpy().reshape(4, 4, -1).astype(np.float64)
        posembed = {}
        for size in (6, 3):
            posembed[f"bicubic_{size}"] = resample_abs_pos_embed(pos, new_size=(size, size), num_prefix_tokens=1,
                                                                 interpolation="bicubic", antialias=True).detach().numpy()
            zoomed = scipy.ndimage.zoom(grid, (size / 4, size / 4, 1), order=1).reshape(1, size * size, -1)
            posembed[f"bilinear_{size}"] = np.concatenate([pos[:, :1].detach().numpy(), zoomed.astype(np.float32)], 1)
        np.savez(os.path.join(out, "posembed.npz"), **posembed)
    del m

    # Hugging Face, exact GELU, eps 1e-12.
    m = hf_model(c)
    randomize(m, gen)
    m.save_pretrained(os.path.join(out, "hf"), safe_serialization=True)
    refs["hf"] = logits_of(m, image)
    del m

    # Google .npz, tanh GELU (reference: timm with tanh GELU).
    m = timm_model(c, gelu="tanh")
    randomize(m, gen)
    g = timm_to_google(m.state_dict(), c["heads"])
    path = os.path.join(out, "google.npz")
    np.savez(path, **g)
    refs["google"] = logits_of(m, image)
    check = timm_model(c, gelu="tanh")
    _load_weights(check, path)
    print("google.npz: timm's own npz loader vs source model, max |diff| =",
          np.abs(logits_of(check, image) - refs["google"]).max())
    print("google.npz: numpy reference vs timm, max |diff| =",
          np.abs(numpy_google_forward(g, image) - refs["google"]).max())
    del m, check

    if not args.full:
        # Google .npz with mean pooling and pre_logits (reference: numpy).
        m = timm_model(c, gelu="tanh", pooling="gap")
        randomize(m, gen)
        g = timm_to_google(m.state_dict(), c["heads"])
        repr_size = 16
        g["pre_logits/kernel"] = (rng.standard_normal((c["width"], repr_size)) / np.sqrt(c["width"])).astype(np.float32)
        g["pre_logits/bias"] = (0.1 * rng.standard_normal(repr_size)).astype(np.float32)
        g["head/kernel"] = (rng.standard_normal((repr_size, c["classes"])) / np.sqrt(repr_size)).astype(np.float32)
        np.savez(os.path.join(out, "google_gap.npz"), **g)
        refs["google_gap"] = numpy_google_forward(g, image)
        # Without pre_logits the numpy code must agree with timm's mean pooling too.
        g2 = timm_to_google(m.state_dict(), c["heads"])
        print("gap: numpy reference vs timm, max |diff| =", np.abs(numpy_google_forward(g2, image) - logits_of(m, image)).max())

    np.savez(os.path.join(out, "inputs.npz"), **inputs)
    np.savez(os.path.join(out, "refs.npz"), **refs)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out) for f in fs if not f.endswith(".py"))
    print(f"wrote {out}: {total / 1e6:.2f} MB; logits ranges:",
          {k: (float(v.min()), float(v.max())) for k, v in refs.items()})


if __name__ == "__main__":
    main()
