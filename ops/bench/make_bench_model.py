#!/usr/bin/env python3
"""Writes `bench-20m`: a random-weight 19.8 M-parameter SwiGLU Llama for speed comparisons.

Shape: 6 layers, hidden 512, SwiGLU FFN 1408, 8 heads of 64 (no GQA), tied embeddings, and the
seed model's 1024-token tokenizer (the `quorum bench train` 20 M configuration with one more layer
and the small vocabulary: 6 * 3 212 288 + 1024 * 512 + 512 = 19 798 528 parameters).
Hugging Face layout (`config.json`, `model.safetensors`, `tokenizer.json`), fp32.

    /tmp/hfvenv/bin/python ops/bench/make_bench_model.py \
        --tokenizer /tmp/m0/b/tokenizer.json --out /work/helpers/models/bench-20m
"""

import argparse
import json
import pathlib
import shutil

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", required=True, help="tokenizer.json to copy (vocabulary 1024)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()

    tokenizer = json.loads(pathlib.Path(args.tokenizer).read_text())
    vocab = len(tokenizer["model"]["vocab"]) + sum(
        1 for t in tokenizer["added_tokens"] if t["content"] not in tokenizer["model"]["vocab"])
    ids = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=512, intermediate_size=1408, num_hidden_layers=6,
        num_attention_heads=8, num_key_value_heads=8, head_dim=64, hidden_act="silu",
        max_position_embeddings=512, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
        bos_token_id=ids.get("<|bos|>"), eos_token_id=ids.get("<|eos|>"), torch_dtype="float32")
    torch.manual_seed(args.seed)
    model = LlamaForCausalLM(config).float()
    count = sum(p.numel() for p in model.parameters())  # tied head counted once
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    shutil.copyfile(args.tokenizer, out / "tokenizer.json")
    for extra in ("generation_config.json",):
        (out / extra).unlink(missing_ok=True)
    print(f"{out}: {count} parameters, vocabulary {vocab}")


if __name__ == "__main__":
    main()
