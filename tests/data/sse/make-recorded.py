#!/usr/bin/env python3
"""tests/data/sse/make-recorded.py: writes the recorded streams bench-sse decodes
(bench/bench-sse.c) and tests/unit/test-sse-deltas.c reads.

recorded-openai.sse: a chat.completion.chunk stream (OpenAI's wire form: a role chunk, one chunk
per token, a finish chunk, a usage chunk, [DONE]); recorded-anthropic.sse: a Messages API
stream (message_start, content_block_start, ping, content_block_delta of a few tokens each,
content_block_stop, message_delta, message_stop). Both carry the same generated answer: prose
with markdown line breaks, a code block (quotes and backslashes: JSON escapes), and UTF-8 text
(accents, CJK, emoji) as the providers send it, unescaped. Deterministic (a fixed seed), so
the files are reproducible: python3 tests/data/sse/make-recorded.py tests/data/sse
"""
import json
import random
import sys

WORDS = ("the a of to and in is that for it as with on be by this are from at or an which "
         "cache request stream token model reply latency server client buffer event delta "
         "library call engine socket handle value parse field schema budget route target "
         "fallback retry timeout connection memory thread loop queue chunk text JSON HTTP").split()
UNICODE = ["café", "naïve", "Zürich", "東京", "数据", "😀", "→", "≤", "Ελληνικά", "résumé"]


def answer(rng, n_tokens):
    toks = []
    while len(toks) < n_tokens:
        r = rng.random()
        if r < 0.03:
            toks += ["\n\n", "```c\n", 'printf("%s\\n", name);', "\n", "```", "\n\n"]
        elif r < 0.08:
            toks += ["\n", "-", " " + rng.choice(WORDS)]
        elif r < 0.11:
            toks.append(" " + rng.choice(UNICODE))
        elif r < 0.14:
            toks.append(",")
        elif r < 0.17:
            toks.append(".")
        else:
            toks.append(" " + rng.choice(WORDS))
    return toks


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def openai(toks):
    base = {"id": "chatcmpl-B9x7Qk2LmN4pR8sT1uV3wY5z", "object": "chat.completion.chunk",
            "created": 1764892800, "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": "fp_b376dfbbd5"}
    out = []

    def chunk(delta, finish=None, usage=None, choices=True):
        c = dict(base)
        c["choices"] = [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish}] if choices else []
        c["usage"] = usage
        out.append("data: " + dump(c) + "\n\n")

    chunk({"role": "assistant", "content": "", "refusal": None})
    for t in toks:
        chunk({"content": t})
    chunk({}, finish="stop")
    chunk(None, usage={"prompt_tokens": 412, "completion_tokens": len(toks),
                       "total_tokens": 412 + len(toks),
                       "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                       "completion_tokens_details": {"reasoning_tokens": 0}}, choices=False)
    out.append("data: [DONE]\n\n")
    return "".join(out)


def anthropic(rng, toks):
    out = []

    def ev(name, obj):
        out.append("event: " + name + "\ndata: " + dump(obj) + "\n\n")

    ev("message_start", {"type": "message_start", "message": {
        "id": "msg_01HJ8tWq3vKp5XbN2cYdRmFe", "type": "message", "role": "assistant",
        "content": [], "model": "claude-sonnet-4-5-20250929", "stop_reason": None,
        "stop_sequence": None, "usage": {"input_tokens": 412, "cache_creation_input_tokens": 0,
                                         "cache_read_input_tokens": 0, "output_tokens": 1}}})
    ev("content_block_start", {"type": "content_block_start", "index": 0,
                               "content_block": {"type": "text", "text": ""}})
    ev("ping", {"type": "ping"})
    i = 0
    while i < len(toks):
        n = rng.randint(1, 4)  # Anthropic sends a few tokens per delta
        ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "text_delta", "text": "".join(toks[i:i + n])}})
        i += n
    ev("content_block_stop", {"type": "content_block_stop", "index": 0})
    ev("message_delta", {"type": "message_delta",
                         "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                         "usage": {"output_tokens": len(toks)}})
    ev("message_stop", {"type": "message_stop"})
    return "".join(out)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "."
    rng = random.Random(20261207)
    toks = answer(rng, 1400)
    with open(d + "/recorded-openai.sse", "w", encoding="utf-8", newline="") as f:
        f.write(openai(toks))
    toks = answer(rng, 6000)
    with open(d + "/recorded-anthropic.sse", "w", encoding="utf-8", newline="") as f:
        f.write(anthropic(rng, toks))


main()
