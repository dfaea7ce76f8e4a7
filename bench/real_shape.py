"""The benchmark's model of the real shape: Qwen3.6-35B-A3B's widths, fewer layers, random weights.

The 135M stand-in makes llama-server do almost no work per token, which flatters
nothing and says little about a laptop running the real 35B-A3B. This model is
llama.cpp's ``qwen35moe`` with the real model's widths (hidden 2048, 256 experts
with 8 routed + 1 shared of size 512, 16/2 attention heads of 256, Gated
DeltaNet 16/32 heads of 128, full attention every 4th layer, 248320-token
vocabulary), typed like a Q4_K_M file, with 4 layers: one period of the hybrid
layout, ~2.7 GB. Per token llama-server does what the real model does in 4 of
its 40 layers plus the full-size output layer and sampler over 248k tokens.

The recipe lives in ``tests/_gguf_factory.py`` (:func:`write_real_shape_moe`);
the file is written once (~1 minute) and cached under the cache folder, keyed
by the recipe's version and the layer count, like the llama-server build.

    python bench/real_shape.py [--layers N] [--rewrite]

prints the file's path, what pelican-tui's header reader says about it, and
what that extrapolates to at 40 layers, as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent / "tests"))

from _gguf_factory import (  # noqa: E402 - the recipe is shared with the tests
    QWEN36_35B_A3B,
    REAL_SHAPE_RECIPE,
    extrapolate_layers,
    write_real_shape_moe,
)

from pelican_tui.backends import locations  # noqa: E402
from pelican_tui.backends.llama.default_model import default_model_path  # noqa: E402
from pelican_tui.backends.llama.gguf_info import (  # noqa: E402
    format_params,
    format_size,
    read_gguf_info,
)

DEFAULT_LAYERS = 4
"""One period of the hybrid layout (3 DeltaNet + 1 attention): extrapolates exactly to 40."""


def cache_folder() -> Path:
    return locations.cache_dir() / "real-shape" / REAL_SHAPE_RECIPE


def model_path(layers: int = DEFAULT_LAYERS) -> Path:
    return cache_folder() / f"Qwen3.6-35B-A3B-shape-{layers}L-random-Q4_K_M.gguf"


def ensure_real_shape_model(
    layers: int = DEFAULT_LAYERS, rewrite: bool = False, say: Any = print
) -> Path:
    """The cached real-shape GGUF, written first if it is missing (or ``rewrite``)."""
    path = model_path(layers)
    if path.is_file() and not rewrite:
        return path
    tokenizer = default_model_path()
    if not tokenizer.is_file():
        raise SystemExit(
            "the tokenizer source (the default model) is missing: run `bin/pelican-tui setup`"
        )
    locations.ensure(path.parent)
    partial = path.with_name(path.name + f".partial-{os.getpid()}")
    say(f"writing the real-shape model ({layers} layers, recipe {REAL_SHAPE_RECIPE}) to {path}")
    started = time.monotonic()
    try:
        write_real_shape_moe(partial, tokenizer, n_blocks=layers)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    say(f"wrote {format_size(path.stat().st_size)} in {time.monotonic() - started:.0f} s")
    return path


def describe(path: Path) -> dict[str, Any]:
    """The header as pelican-tui reads it, and its extrapolation to the real layer count."""
    info = read_gguf_info(path)
    full = extrapolate_layers(path, QWEN36_35B_A3B.n_blocks)
    if (full["total_params"], full["active_params"]) != (info.total_params, info.active_params):
        raise SystemExit("the extrapolation does not start from the header reader's numbers")
    return {
        "path": str(path),
        "recipe": REAL_SHAPE_RECIPE,
        "summary": info.summary(),
        "layers": info.block_count,
        "total_params": info.total_params,
        "active_params": info.active_params,
        "quantization": info.quantization,
        "bits_per_weight": round(info.bits_per_weight, 3),
        "file_size": info.file_size,
        "bytes_per_token_read": int(info.bytes_per_token_read()),
        "at_40_layers": {
            "total_params": full["full_total_params"],
            "active_params": full["full_active_params"],
            "tensor_bytes": full["full_tensor_bytes"],
            "said": f"{format_params(full['full_total_params'])} total / "
            f"{format_params(full['full_active_params'])} active, "
            f"{format_size(full['full_tensor_bytes'])} of tensors",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--layers", type=int, default=DEFAULT_LAYERS)
    parser.add_argument("--rewrite", action="store_true", help="write it again even if cached")
    args = parser.parse_args()
    path = ensure_real_shape_model(
        args.layers, args.rewrite, say=lambda m: print(m, file=sys.stderr)
    )
    print(json.dumps(describe(path), indent=1))


if __name__ == "__main__":
    main()
