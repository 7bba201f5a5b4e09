#!/usr/bin/env python3
"""PyTorch CPU reference for `quorum bench train`: the same Llama configurations, batch and step
(forward, cross-entropy, backward, global-norm clipping, AdamW), timed the same way, printed as JSON.

    /tmp/hfvenv/bin/python ops/bench/train_pytorch.py --threads 2 [--steps 3] [--config small|medium|all]
"""

import argparse
import json
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

CONFIGS = {
    "small": dict(hidden_size=256, intermediate_size=768, num_attention_heads=4, num_key_value_heads=4,
                  num_hidden_layers=4, vocab_size=8192, tie_word_embeddings=True),
    "medium": dict(hidden_size=512, intermediate_size=1408, num_attention_heads=8, num_key_value_heads=8,
                   num_hidden_layers=5, vocab_size=8192, tie_word_embeddings=True),
}


def run(name, fields, batch, seq, steps, warmup):
    torch.manual_seed(1)
    config = LlamaConfig(**fields, max_position_embeddings=512, rms_norm_eps=1e-5, attn_implementation="sdpa")
    model = LlamaForCausalLM(config).float().train()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    ids = torch.randint(0, config.vocab_size, (batch, seq))
    times, losses = [], []
    for step in range(warmup + steps):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        elapsed = time.perf_counter() - start
        if step >= warmup:
            times.append(elapsed)
            losses.append(loss.item())
    sec = sum(times) / len(times)
    return dict(name=name, parameters=params, batch=batch, sequenceLength=seq, steps=steps, secondsPerStep=sec,
                tokensPerSecond=batch * seq / sec,
                bestTokensPerSecond=batch * seq / min(times), firstLoss=losses[0], lastLoss=losses[-1],
                threads=torch.get_num_threads(), torch=torch.__version__)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--config", default="all")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    names = list(CONFIGS) if args.config == "all" else [args.config]
    print(json.dumps([run(n, CONFIGS[n], args.batch, args.seq, args.steps, args.warmup) for n in names], indent=1))


if __name__ == "__main__":
    main()
