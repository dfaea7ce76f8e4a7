"""Write tiny random-weight MoE GGUF files that the real llama-server loads and serves.

Two architectures: ``qwen3moe`` (Qwen3-30B-A3B's) and ``qwen35moe`` (the
Qwen3.5/3.6 hybrid: Gated DeltaNet linear attention in most layers, full
attention every ``full_attention_interval``-th layer, routed + shared experts).
Tensor names and shapes follow llama.cpp's ``src/models/qwen3moe.cpp`` and
``src/models/qwen35moe.cpp``. The tokenizer (a 49k-token BPE) is copied from a
real GGUF, normally SmolLM2-135M-Instruct, so prompts tokenize as text; the
chat template is a cut-down Qwen3.5 one, so llama-server treats the model as a
thinking model (``<think>`` handling, ``enable_thinking``).

The weights are random: the text they generate is noise. That is enough to
test loading, streaming, thinking/answer splitting, cancelling and stats.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFReader, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType, LlamaFileType

TINY_CHAT_TEMPLATE = """\
{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content|trim + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(searching=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- if ns.searching and message.role == 'user' %}
        {%- set ns.searching = false %}
        {%- set ns.last_query_index = (messages|length - 1) - loop.index0 %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- set content = message.content if message.content is string else '' %}
    {%- if message.role == 'system' %}
        {%- if not loop.first %}
            {{- raise_exception('System message must be at the beginning.') }}
        {%- endif %}
    {%- elif message.role == 'user' %}
        {{- '<|im_start|>user\\n' + content|trim + '<|im_end|>\\n' }}
    {%- elif message.role == 'assistant' %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- elif '</think>' in content %}
            {%- set before = content.split('</think>')[0].rstrip('\\n') %}
            {%- set reasoning_content = before.split('<think>')[-1].lstrip('\\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {{- '<|im_start|>assistant\\n<think>\\n' + reasoning_content|trim }}
            {{- '\\n</think>\\n\\n' + content|trim }}
        {%- else %}
            {{- '<|im_start|>assistant\\n' + content|trim }}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- else %}
        {{- '<think>\\n' }}
    {%- endif %}
{%- endif %}
"""
"""Qwen3.5's template without tools and images: same thinking structure and endings."""

ARCHITECTURES = ("qwen3moe", "qwen35moe")
EXPERT_MARK = "_exps"
"""Routed-expert tensors carry this in their name (shared experts are ``_shexp``)."""

_TOKENIZER_SCALARS = (
    "tokenizer.ggml.model",
    "tokenizer.ggml.pre",
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id",
    "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.add_bos_token",
    "tokenizer.ggml.add_space_prefix",
)
_tokenizer_cache: dict[Path, dict[str, Any]] = {}


def _tokenizer(source: Path) -> dict[str, Any]:
    """Tokenizer keys of a real GGUF (read once per file and process: ~3 s)."""
    source = Path(source).resolve()
    if source not in _tokenizer_cache:
        reader = GGUFReader(source)
        keys: dict[str, Any] = {}
        for name in (
            *_TOKENIZER_SCALARS,
            "tokenizer.ggml.tokens",
            "tokenizer.ggml.token_type",
            "tokenizer.ggml.merges",
        ):
            field = reader.get_field(name)
            if field is not None:
                keys[name] = field.contents()
        _tokenizer_cache[source] = keys
    return _tokenizer_cache[source]


@dataclass(frozen=True)
class MoEShape:
    """Hyperparameters of a generated model (llama.cpp's names in comments)."""

    arch: str
    vocab: int
    n_experts: int  # expert_count
    n_used: int  # expert_used_count
    hidden: int  # embedding_length
    n_blocks: int  # block_count
    n_head: int
    n_head_kv: int
    head_dim: int  # attention.key_length == value_length
    expert_ff: int  # expert_feed_forward_length
    shared_ff: int  # expert_shared_feed_forward_length (qwen35moe)
    full_attention_interval: int  # qwen35moe
    context_length: int
    tied_output: bool  # no output.weight: llama.cpp reuses token_embd
    # Gated DeltaNet (qwen35moe): key heads = group_count, value heads =
    # time_step_rank, head size = state_size, inner size = value heads * head size.
    ssm_state: int = 16
    ssm_groups: int = 2
    ssm_value_heads: int = 4
    ssm_conv_kernel: int = 4

    @property
    def hybrid(self) -> bool:
        return self.arch == "qwen35moe"

    @property
    def recurrent_layers(self) -> list[int]:
        if not self.hybrid:
            return []
        return [i for i in range(self.n_blocks) if (i + 1) % self.full_attention_interval != 0]

    @property
    def attention_layers(self) -> list[int]:
        recurrent = set(self.recurrent_layers)
        return [i for i in range(self.n_blocks) if i not in recurrent]

    @property
    def ssm(self) -> dict[str, int] | None:
        if not self.hybrid:
            return None
        return {
            "conv_kernel": self.ssm_conv_kernel,
            "inner_size": self.ssm_state * self.ssm_value_heads,
            "state_size": self.ssm_state,
            "time_step_rank": self.ssm_value_heads,
            "group_count": self.ssm_groups,
        }

    def validate(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {ARCHITECTURES}, got {self.arch!r}")
        if not self.attention_layers:
            raise ValueError("full_attention_interval leaves no full-attention layer")


# Roles decide a tensor's type and initial values.
_NORM = "norm"  # F32, ones
_F32 = "f32"  # F32, small random (router, conv, shared-expert gate)
_DECAY = "decay"  # F32, negative (ssm_a)
_ZERO = "zero"  # F32, zeros (ssm_dt bias)
_MATRIX = "matrix"  # the file's matrix type


def tensor_layout(shape: MoEShape) -> dict[str, tuple[tuple[int, ...], str]]:
    """Tensor name -> (dimensions in GGUF order, fastest first; role).

    Follows ``llama_model_qwen3moe::load_arch_tensors`` and
    ``llama_model_qwen35moe::load_arch_tensors`` in llama.cpp's src/models/.
    """
    s = shape
    layout: dict[str, tuple[tuple[int, ...], str]] = {
        "token_embd.weight": ((s.hidden, s.vocab), _MATRIX),
        "output_norm.weight": ((s.hidden,), _NORM),
    }
    if not s.tied_output:
        layout["output.weight"] = ((s.hidden, s.vocab), _MATRIX)
    q_width = s.n_head * s.head_dim * (2 if s.hybrid else 1)  # qwen35moe's Q carries a gate
    kv_width = s.n_head_kv * s.head_dim
    key_dim = s.ssm_state * s.ssm_groups
    value_dim = s.ssm_state * s.ssm_value_heads
    conv_dim = 2 * key_dim + value_dim
    for i in range(s.n_blocks):
        b = f"blk.{i}"
        layout[f"{b}.attn_norm.weight"] = ((s.hidden,), _NORM)
        if s.hybrid:
            layout[f"{b}.post_attention_norm.weight"] = ((s.hidden,), _NORM)
        else:
            layout[f"{b}.ffn_norm.weight"] = ((s.hidden,), _NORM)
        if i in s.attention_layers:
            layout[f"{b}.attn_q.weight"] = ((s.hidden, q_width), _MATRIX)
            layout[f"{b}.attn_k.weight"] = ((s.hidden, kv_width), _MATRIX)
            layout[f"{b}.attn_v.weight"] = ((s.hidden, kv_width), _MATRIX)
            layout[f"{b}.attn_output.weight"] = ((s.n_head * s.head_dim, s.hidden), _MATRIX)
            layout[f"{b}.attn_q_norm.weight"] = ((s.head_dim,), _NORM)
            layout[f"{b}.attn_k_norm.weight"] = ((s.head_dim,), _NORM)
        else:
            layout[f"{b}.attn_qkv.weight"] = ((s.hidden, conv_dim), _MATRIX)
            layout[f"{b}.attn_gate.weight"] = ((s.hidden, value_dim), _MATRIX)
            layout[f"{b}.ssm_conv1d.weight"] = ((s.ssm_conv_kernel, conv_dim), _F32)
            layout[f"{b}.ssm_dt.bias"] = ((s.ssm_value_heads,), _ZERO)
            layout[f"{b}.ssm_a"] = ((s.ssm_value_heads,), _DECAY)
            layout[f"{b}.ssm_beta.weight"] = ((s.hidden, s.ssm_value_heads), _MATRIX)
            layout[f"{b}.ssm_alpha.weight"] = ((s.hidden, s.ssm_value_heads), _MATRIX)
            layout[f"{b}.ssm_norm.weight"] = ((s.ssm_state,), _NORM)
            layout[f"{b}.ssm_out.weight"] = ((value_dim, s.hidden), _MATRIX)
        layout[f"{b}.ffn_gate_inp.weight"] = ((s.hidden, s.n_experts), _F32)
        layout[f"{b}.ffn_gate_exps.weight"] = ((s.hidden, s.expert_ff, s.n_experts), _MATRIX)
        layout[f"{b}.ffn_up_exps.weight"] = ((s.hidden, s.expert_ff, s.n_experts), _MATRIX)
        layout[f"{b}.ffn_down_exps.weight"] = ((s.expert_ff, s.hidden, s.n_experts), _MATRIX)
        if s.hybrid:
            layout[f"{b}.ffn_gate_inp_shexp.weight"] = ((s.hidden,), _F32)
            layout[f"{b}.ffn_gate_shexp.weight"] = ((s.hidden, s.shared_ff), _MATRIX)
            layout[f"{b}.ffn_up_shexp.weight"] = ((s.hidden, s.shared_ff), _MATRIX)
            layout[f"{b}.ffn_down_shexp.weight"] = ((s.shared_ff, s.hidden), _MATRIX)
    return layout


def _write_hparams(
    writer: GGUFWriter,
    shape: MoEShape,
    name: str,
    file_type: LlamaFileType | None,
    rope_freq_base: float = 1_000_000.0,
) -> None:
    s = shape
    writer.add_name(name)
    writer.add_type("model")
    if file_type is not None:
        writer.add_file_type(file_type)
    writer.add_context_length(s.context_length)
    writer.add_embedding_length(s.hidden)
    writer.add_block_count(s.n_blocks)
    writer.add_feed_forward_length(s.expert_ff * s.n_used)
    writer.add_head_count(s.n_head)
    writer.add_head_count_kv(s.n_head_kv)
    writer.add_key_length(s.head_dim)
    writer.add_value_length(s.head_dim)
    writer.add_rope_freq_base(rope_freq_base)
    writer.add_layer_norm_rms_eps(1e-6)
    # Both are required: without them llama-server aborts on an internal check.
    writer.add_expert_count(s.n_experts)
    writer.add_expert_used_count(s.n_used)
    writer.add_expert_feed_forward_length(s.expert_ff)
    ssm = s.ssm
    if ssm is not None:
        n_rot = s.head_dim // 4 if s.head_dim >= 128 else s.head_dim // 2  # partial rotary
        writer.add_rope_dimension_count(n_rot)
        # IMRoPE sections count rotary pairs (they add up to n_rot / 2), split
        # like Qwen3.5's [11, 11, 10, 0] for n_rot 64.
        half = n_rot // 2
        writer.add_rope_dimension_sections([(half + 2) // 3, (half + 1) // 3, half // 3, 0])
        writer.add_expert_shared_feed_forward_length(s.shared_ff)
        writer.add_full_attention_interval(s.full_attention_interval)
        writer.add_ssm_conv_kernel(ssm["conv_kernel"])
        writer.add_ssm_inner_size(ssm["inner_size"])
        writer.add_ssm_state_size(ssm["state_size"])
        writer.add_ssm_time_step_rank(ssm["time_step_rank"])
        writer.add_ssm_group_count(ssm["group_count"])


def _write_tokenizer(writer: GGUFWriter, tokenizer: dict[str, Any]) -> None:
    writer.add_tokenizer_model(tokenizer["tokenizer.ggml.model"])
    if "tokenizer.ggml.pre" in tokenizer:
        writer.add_tokenizer_pre(tokenizer["tokenizer.ggml.pre"])
    writer.add_token_list(tokenizer["tokenizer.ggml.tokens"])
    writer.add_token_types(tokenizer["tokenizer.ggml.token_type"])
    if "tokenizer.ggml.merges" in tokenizer:
        writer.add_token_merges(tokenizer["tokenizer.ggml.merges"])
    for key, add_id in (
        ("tokenizer.ggml.bos_token_id", writer.add_bos_token_id),
        ("tokenizer.ggml.eos_token_id", writer.add_eos_token_id),
        ("tokenizer.ggml.unknown_token_id", writer.add_unk_token_id),
        ("tokenizer.ggml.padding_token_id", writer.add_pad_token_id),
    ):
        if key in tokenizer:
            add_id(int(tokenizer[key]))
    for key, add_flag in (
        ("tokenizer.ggml.add_bos_token", writer.add_add_bos_token),
        ("tokenizer.ggml.add_space_prefix", writer.add_add_space_prefix),
    ):
        if key in tokenizer:
            add_flag(bool(tokenizer[key]))
    writer.add_chat_template(TINY_CHAT_TEMPLATE)


def _expected(
    path: Path,
    shape: MoEShape,
    name: str,
    elements: dict[str, int],
    tensor_bytes: int,
    quantization: str,
) -> dict[str, Any]:
    total = sum(elements.values())
    expert = sum(n for tensor, n in elements.items() if "_exps" in tensor)
    return {
        "path": path,
        "architecture": shape.arch,
        "name": name,
        "total_params": total,
        "active_params": total - expert + expert * shape.n_used // shape.n_experts,
        "expert_params": expert,
        "expert_count": shape.n_experts,
        "expert_used_count": shape.n_used,
        "tensor_bytes": tensor_bytes,
        "block_count": shape.n_blocks,
        "embedding_length": shape.hidden,
        "head_count": shape.n_head,
        "head_count_kv": shape.n_head_kv,
        "key_length": shape.head_dim,
        "context_length": shape.context_length,
        "vocab_size": shape.vocab,
        "quantization": quantization,
        "full_attention_interval": shape.full_attention_interval if shape.hybrid else None,
        "attention_layers": shape.attention_layers,
        "recurrent_layers": shape.recurrent_layers,
        "ssm": shape.ssm,
    }


def write_tiny_moe(
    path: Path,
    tokenizer_source: Path,
    *,
    arch: str = "qwen3moe",
    n_experts: int = 8,
    n_used: int = 2,
    hidden: int = 64,
    n_blocks: int = 2,
    n_head: int = 4,
    n_head_kv: int = 2,
    head_dim: int = 32,
    expert_ff: int = 128,
    shared_ff: int = 64,
    full_attention_interval: int = 2,
    context_length: int = 4096,
    dtype: str = "f16",
    write_file_type: bool = True,
    name: str | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Write a random-weight MoE model that llama-server loads; return what a reader should find.

    ``tokenizer_source`` is a GGUF whose tokenizer is copied (SmolLM2-135M).
    ``dtype`` ("f16" or "f32") is the type of the matrices; norms, the router
    and the small SSM tensors stay F32. ``full_attention_interval`` and
    ``shared_ff`` matter only for ``qwen35moe`` (with 2 blocks and interval
    2, block 0 is linear attention and block 1 full attention). About 9 MB,
    written in ~0.3 s (plus ~3 s once per process to read the tokenizer).

    The returned dict has: ``path``, ``architecture``, ``name``,
    ``total_params``, ``active_params``, ``expert_params``, ``expert_count``,
    ``expert_used_count``, ``tensor_bytes``, ``block_count``,
    ``embedding_length``, ``head_count``, ``head_count_kv``, ``key_length``,
    ``context_length``, ``vocab_size``, ``quantization`` (the label a reader
    should show), ``full_attention_interval`` (None for qwen3moe),
    ``attention_layers`` (indexes of layers with a KV cache),
    ``recurrent_layers`` and ``ssm`` (the five ssm.* values, or None).
    """
    if dtype not in ("f16", "f32"):
        raise ValueError(f"dtype must be 'f16' or 'f32', got {dtype!r}")
    path = Path(path)
    tokenizer = _tokenizer(tokenizer_source)
    shape = MoEShape(
        arch=arch,
        vocab=len(tokenizer["tokenizer.ggml.tokens"]),
        n_experts=n_experts,
        n_used=n_used,
        hidden=hidden,
        n_blocks=n_blocks,
        n_head=n_head,
        n_head_kv=n_head_kv,
        head_dim=head_dim,
        expert_ff=expert_ff,
        shared_ff=shared_ff,
        full_attention_interval=full_attention_interval,
        context_length=context_length,
        tied_output=True,
    )
    shape.validate()
    rng = np.random.default_rng(seed)
    matrix_type = np.float16 if dtype == "f16" else np.float32

    tensors: dict[str, np.ndarray[Any, Any]] = {}
    for tensor_name, (dims, role) in tensor_layout(shape).items():
        np_shape = tuple(reversed(dims))  # numpy's order is slowest first
        if role == _NORM:
            tensors[tensor_name] = np.ones(np_shape, dtype=np.float32)
        elif role == _ZERO:
            tensors[tensor_name] = np.zeros(np_shape, dtype=np.float32)
        elif role == _DECAY:
            values = -np.abs(rng.standard_normal(np_shape)) - 0.5
            tensors[tensor_name] = values.astype(np.float32)
        else:
            values = rng.standard_normal(np_shape) * 0.02
            tensors[tensor_name] = values.astype(np.float32 if role == _F32 else matrix_type)

    label = name or f"Tiny {arch} {n_experts}x{n_used}"
    file_type = LlamaFileType.MOSTLY_F16 if dtype == "f16" else LlamaFileType.ALL_F32
    writer = GGUFWriter(path, arch)
    _write_hparams(writer, shape, label, file_type if write_file_type else None)
    _write_tokenizer(writer, tokenizer)
    for tensor_name, values in tensors.items():
        writer.add_tensor(tensor_name, values)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    # Without general.file_type a reader falls back to the type holding the most matrix bytes.
    matrix_bytes: dict[str, int] = {}
    for values in tensors.values():
        if values.ndim >= 2:
            kind = "F16" if values.dtype == np.float16 else "F32"
            matrix_bytes[kind] = matrix_bytes.get(kind, 0) + int(values.nbytes)
    dominant = max(matrix_bytes, key=lambda kind: matrix_bytes[kind])
    return _expected(
        path,
        shape,
        label,
        {tensor_name: int(values.size) for tensor_name, values in tensors.items()},
        sum(int(values.nbytes) for values in tensors.values()),
        ("F16" if dtype == "f16" else "F32") if write_file_type else dominant,
    )


def write_sparse_moe(
    path: Path,
    *,
    arch: str = "qwen35moe",
    vocab: int = 248_320,
    n_experts: int = 256,
    n_used: int = 8,
    hidden: int = 2048,
    n_blocks: int = 40,
    n_head: int = 16,
    n_head_kv: int = 2,
    head_dim: int = 256,
    expert_ff: int = 512,
    shared_ff: int = 512,
    full_attention_interval: int = 4,
    context_length: int = 262_144,
    ssm_state: int = 128,
    ssm_groups: int = 16,
    ssm_value_heads: int = 32,
    matrix_type: GGMLQuantizationType = GGMLQuantizationType.Q4_K,
    file_type: LlamaFileType | None = LlamaFileType.MOSTLY_Q4_K_M,
    name: str = "Sparse Qwen3.6-35B-A3B-shaped",
) -> dict[str, Any]:
    """Write a full-size model's header and tensor table, with no tensor data.

    Defaults are shaped like Qwen3.6-35B-A3B (40 layers, 256 experts, 8 used,
    full attention every 4th layer, 262144 context). The file is extended to
    its full size as a sparse file (a hole: ~20 GB apparent, a few kB on disk),
    so it tests that a reader never touches tensor data. llama-server cannot
    load it (no tokenizer, zero weights). Matrices whose first dimension does
    not fit ``matrix_type``'s block size are F16; norms and small tensors F32.
    Returns the same keys as :func:`write_tiny_moe`.
    """
    path = Path(path)
    shape = MoEShape(
        arch=arch,
        vocab=vocab,
        n_experts=n_experts,
        n_used=n_used,
        hidden=hidden,
        n_blocks=n_blocks,
        n_head=n_head,
        n_head_kv=n_head_kv,
        head_dim=head_dim,
        expert_ff=expert_ff,
        shared_ff=shared_ff,
        full_attention_interval=full_attention_interval,
        context_length=context_length,
        tied_output=False,
        ssm_state=ssm_state,
        ssm_groups=ssm_groups,
        ssm_value_heads=ssm_value_heads,
    )
    shape.validate()
    writer = GGUFWriter(path, arch)
    _write_hparams(writer, shape, name, file_type)
    elements: dict[str, int] = {}
    tensor_bytes = 0
    data_bytes = 0
    bytes_by_type: dict[str, int] = {}
    for tensor_name, (dims, role) in tensor_layout(shape).items():
        kind = GGMLQuantizationType.F32
        if role == _MATRIX:
            block, _ = GGML_QUANT_SIZES[matrix_type]
            kind = matrix_type if dims[0] % block == 0 else GGMLQuantizationType.F16
        block_size, type_size = GGML_QUANT_SIZES[kind]
        count = int(np.prod(dims))
        nbytes = count // block_size * type_size
        writer.add_tensor_info(
            tensor_name, tuple(reversed(dims)), np.dtype(np.float32), nbytes, raw_dtype=kind
        )
        elements[tensor_name] = count
        tensor_bytes += nbytes
        data_bytes += GGUFWriter.ggml_pad(nbytes, writer.data_alignment)
        if len(dims) >= 2:
            bytes_by_type[kind.name] = bytes_by_type.get(kind.name, 0) + nbytes
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    header_end = path.stat().st_size
    data_start = GGUFWriter.ggml_pad(header_end, writer.data_alignment)
    os.truncate(path, data_start + data_bytes)

    if file_type is not None and file_type != LlamaFileType.GUESSED:
        quantization = file_type.name.removeprefix("MOSTLY_").removeprefix("ALL_")
    else:
        quantization = max(bytes_by_type, key=lambda k: bytes_by_type[k])
    return _expected(path, shape, name, elements, tensor_bytes, quantization)


# --------------------------------------------------------------------------- real shape

QWEN36_35B_A3B = MoEShape(
    arch="qwen35moe",
    vocab=248_320,  # padded embedding rows (model card: "248320 (Padded)")
    n_experts=256,
    n_used=8,  # plus the shared expert, always on
    hidden=2048,
    n_blocks=40,  # 10 x (3 Gated DeltaNet + 1 gated attention)
    n_head=16,
    n_head_kv=2,
    head_dim=256,
    expert_ff=512,
    shared_ff=512,
    full_attention_interval=4,
    context_length=262_144,
    tied_output=False,
    ssm_state=128,  # DeltaNet head size (keys and values)
    ssm_groups=16,  # DeltaNet key/query heads
    ssm_value_heads=32,  # DeltaNet value heads
    ssm_conv_kernel=4,
)
"""Qwen3.6-35B-A3B's published text-model shape, in llama.cpp's ``qwen35moe`` terms.

From the model card: hidden 2048, 40 layers laid out as 10 x (3 x Gated DeltaNet
+ 1 x gated attention), DeltaNet 16 QK heads / 32 V heads of 128, attention 16 Q
/ 2 KV heads of 256 with 64 rotary dims, 256 experts (8 routed + 1 shared) of
intermediate size 512, vocabulary 248320 (padded), context 262144. llama.cpp's
converter maps the DeltaNet widths to ``ssm.state_size`` (head size),
``ssm.group_count`` (key heads), ``ssm.time_step_rank`` (value heads) and
``ssm.inner_size`` (value heads x head size). Not on the card, assumed as in
Qwen3-Next/Qwen3.5: conv kernel 4, untied output (which is what makes the
total 34.7B, i.e. "35B"), rope base 1e7. The vision encoder and the
multi-token-prediction block are not part of it (llama-server serves text
without them).
"""

REAL_SHAPE_RECIPE = "qwen36-35b-a3b-shape-v1"
"""Names the recipe of :func:`write_real_shape_moe`; change it when the output changes
(the benchmark caches the file under this name)."""

REAL_SHAPE_ROPE_BASE = 10_000_000.0
_REAL_SHAPE_STD = 0.02
"""Standard deviation of the random weights, like the tiny models' F16 weights."""


def _use_more_bits(i_layer: int, n_layers: int) -> bool:
    """llama.cpp's ``use_more_bits`` (src/llama-quant.cpp): the layers Q4_K_M gives Q6_K."""
    return (
        i_layer < n_layers // 8
        or i_layer >= 7 * n_layers // 8
        or (i_layer - n_layers // 8) % 3 == 2
    )


def q4_k_m_types(shape: MoEShape) -> dict[str, GGMLQuantizationType]:
    """Tensor name -> type, as ``llama-quantize ... Q4_K_M`` picks them for this shape.

    Follows ``llama_tensor_get_type_impl`` for an untied model with more than 8
    experts: 1-D tensors, the router and the conv kernels stay F32; output Q6_K;
    attn_v and the DeltaNet attn_qkv (counted together, in file order) and every
    ffn_down (routed and shared) Q6_K in the ``use_more_bits`` layers, Q4_K
    otherwise; everything else Q4_K. A matrix whose rows do not split into
    256-wide blocks is F16 (llama.cpp would fall back to a legacy quant there;
    the real widths never need it).
    """
    layout = tensor_layout(shape)
    n_attn_v = sum(1 for name in layout if name.endswith((".attn_v.weight", ".attn_qkv.weight")))
    i_attn_v = 0
    types: dict[str, GGMLQuantizationType] = {}
    for name, (dims, role) in layout.items():
        kind = GGMLQuantizationType.F32
        if role == _MATRIX:
            kind = GGMLQuantizationType.Q4_K
            if name == "output.weight":
                kind = GGMLQuantizationType.Q6_K
            elif name.endswith((".attn_v.weight", ".attn_qkv.weight")):
                if _use_more_bits(i_attn_v, n_attn_v):
                    kind = GGMLQuantizationType.Q6_K
                i_attn_v += 1
            elif ".ffn_down" in name and _use_more_bits(int(name.split(".")[1]), shape.n_blocks):
                kind = GGMLQuantizationType.Q6_K
            block, _ = GGML_QUANT_SIZES[kind]
            if dims[0] % block != 0:
                kind = GGMLQuantizationType.F16
        types[name] = kind
    return types


def _f16_bytes(value: float) -> np.ndarray[Any, Any]:
    return np.array([value], dtype=np.float16).view(np.uint8)


def random_k_blocks(
    kind: GGMLQuantizationType, n_elements: int, rng: np.random.Generator
) -> np.ndarray[Any, Any]:
    """Random Q4_K or Q6_K blocks (raw bytes) whose weights average 0 with std ~0.02.

    The ``gguf`` package cannot quantize to K-quants (NotImplementedError), and
    random weights need no quantizing: the quants are random bytes, the block
    scales are fixed so every weight is ``d * (q - midpoint)``. llama-server
    reads, multiplies and moves exactly what it would for a real Q4_K_M file.
    """
    block, size = GGML_QUANT_SIZES[kind]
    n_blocks = n_elements // block
    data = np.frombuffer(bytearray(rng.bytes(n_blocks * size)), dtype=np.uint8)
    data = data.reshape(n_blocks, size)
    if kind == GGMLQuantizationType.Q4_K:
        # d, dmin (f16), 12 bytes of 6-bit scales/mins (all 1), 128 bytes of 4-bit quants
        d = _REAL_SHAPE_STD / 4.61  # std of q in 0..15
        data[:, 0:2] = _f16_bytes(d)
        data[:, 2:4] = _f16_bytes(7.5 * d)
        data[:, 4:16] = np.array([1] * 8 + [0x11] * 4, dtype=np.uint8)
    elif kind == GGMLQuantizationType.Q6_K:
        # 128 bytes low 4 bits, 64 bytes high 2 bits, 16 int8 scales (all 1), d (f16)
        data[:, 192:208] = 1
        data[:, 208:210] = _f16_bytes(_REAL_SHAPE_STD / 18.47)  # std of q - 32, q in 0..63
    else:
        raise ValueError(f"no random block writer for {kind.name}")
    return data.reshape(-1)


def padded_tokenizer(tokenizer: dict[str, Any], vocab: int) -> dict[str, Any]:
    """``tokenizer`` with made-up normal tokens appended up to ``vocab`` entries.

    Qwen's real 248k-token tokenizer is not available here; the output matrix
    and the sampler cost what they cost because of the vocabulary's size, so
    the size is what must match. The added tokens are distinct lowercase words
    (``Ġ`` + 4 letters, byte-level BPE for " abcd"): never produced by
    tokenizing, but sampled and detokenized like any word, so a random-weight
    model streams text of ordinary length per token.
    """
    tokens = list(tokenizer["tokenizer.ggml.tokens"])
    if vocab < len(tokens):
        raise ValueError(f"vocab {vocab} is smaller than the tokenizer ({len(tokens)})")
    types = list(tokenizer["tokenizer.ggml.token_type"])
    taken = set(tokens)
    letters = "abcdefghijklmnopqrstuvwxyz"
    index = 0
    while len(tokens) < vocab:
        word, n = "", index
        for _ in range(4):
            n, r = divmod(n, len(letters))
            word = letters[r] + word
        index += 1
        token = "\u0120" + word
        if token not in taken:
            tokens.append(token)
            types.append(1)  # NORMAL
    return {
        **tokenizer,
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": types,
    }


def write_real_shape_moe(
    path: Path,
    tokenizer_source: Path,
    *,
    n_blocks: int = 4,
    name: str | None = None,
    seed: int = 0,
    **widths: Any,
) -> dict[str, Any]:
    """Write a random-weight ``qwen35moe`` GGUF with Qwen3.6-35B-A3B's widths, Q4_K_M-typed.

    Every width is the real model's (:data:`QWEN36_35B_A3B`) unless overridden
    through ``widths`` (MoEShape field names, e.g. ``n_experts=16``); only the
    layer count differs. The default 4 layers are one period of the hybrid
    layout (3 DeltaNet, 1 attention), ~2.7 GB, and extrapolate exactly to 40.
    Tensor types follow :func:`q4_k_m_types`; quantized tensors are written as
    random blocks (:func:`random_k_blocks`), one tensor at a time (the 4-layer
    file: ~20 s, 0.9 GB peak memory, here). The tokenizer is the source
    GGUF's, padded to the vocabulary size (:func:`padded_tokenizer`), with the
    thinking chat template. Returns the same keys as :func:`write_tiny_moe`
    plus ``tensor_types`` (type name -> tensor count) and ``recipe``.
    """
    import dataclasses

    path = Path(path)
    shape = dataclasses.replace(QWEN36_35B_A3B, n_blocks=n_blocks, **widths)
    shape.validate()
    tokenizer = padded_tokenizer(_tokenizer(tokenizer_source), shape.vocab)
    types = q4_k_m_types(shape)
    layout = tensor_layout(shape)
    label = name or f"Qwen3.6-35B-A3B-shaped {n_blocks}-layer random Q4_K_M"
    rng = np.random.default_rng(seed)

    writer = GGUFWriter(path, shape.arch)
    _write_hparams(
        writer, shape, label, LlamaFileType.MOSTLY_Q4_K_M, rope_freq_base=REAL_SHAPE_ROPE_BASE
    )
    _write_tokenizer(writer, tokenizer)
    elements: dict[str, int] = {}
    tensor_bytes = 0
    for tensor_name, (dims, _role) in layout.items():
        kind = types[tensor_name]
        block, size = GGML_QUANT_SIZES[kind]
        count = int(np.prod(dims))
        nbytes = count // block * size
        # The shape is in elements (a uint8 dtype would make the writer read it as bytes).
        writer.add_tensor_info(
            tensor_name, tuple(reversed(dims)), np.dtype(np.float32), nbytes, raw_dtype=kind
        )
        elements[tensor_name] = count
        tensor_bytes += nbytes
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor_name, (dims, role) in layout.items():
        kind = types[tensor_name]
        np_shape = tuple(reversed(dims))
        values: np.ndarray[Any, Any]
        if kind in (GGMLQuantizationType.Q4_K, GGMLQuantizationType.Q6_K):
            values = random_k_blocks(kind, elements[tensor_name], rng)
        elif role == _NORM:
            values = np.ones(np_shape, dtype=np.float32)
        elif role == _ZERO:
            values = np.zeros(np_shape, dtype=np.float32)
        elif role == _DECAY:
            values = (-np.abs(rng.standard_normal(np_shape)) - 0.5).astype(np.float32)
        else:
            values = (rng.standard_normal(np_shape) * _REAL_SHAPE_STD).astype(
                np.float16 if kind == GGMLQuantizationType.F16 else np.float32
            )
        writer.write_tensor_data(values)
    writer.close()

    expected = _expected(path, shape, label, elements, tensor_bytes, "Q4_K_M")
    counts: dict[str, int] = {}
    for kind in types.values():
        counts[kind.name] = counts.get(kind.name, 0) + 1
    expected["tensor_types"] = counts
    expected["recipe"] = REAL_SHAPE_RECIPE
    return expected


def extrapolate_layers(path: Path, n_layers: int) -> dict[str, Any]:
    """What a hybrid MoE file with fewer layers says about the same model at ``n_layers``.

    Reads the tensor table (through pelican-tui's header reader, which skips the
    tokenizer) and sorts each block's tensors by kind of block: DeltaNet
    (``ssm_out`` present) or attention. At ``n_layers`` the model has the
    non-block tensors once, and each kind of block as many times as the
    file's ``full_attention_interval`` gives it, each costing the mean of that
    kind in the file. Exact when the file holds whole periods of the layout
    (4 layers of an interval-4 model); the bytes also assume the file's mix
    of Q4_K and Q6_K layers is the full model's (Q4_K_M gives Q6_K to half the
    ffn_down layers in both).

    Returns total and active parameters and tensor bytes, for the file and at
    ``n_layers``.
    """
    from pelican_tui.backends.llama.gguf_info import _HeaderReader

    reader = _HeaderReader(Path(path))
    arch = str(reader.get_field("general.architecture").contents())  # type: ignore[union-attr]
    used = int(reader.get_field(f"{arch}.expert_used_count").contents())  # type: ignore[union-attr]
    experts = int(reader.get_field(f"{arch}.expert_count").contents())  # type: ignore[union-attr]
    interval_field = reader.get_field(f"{arch}.full_attention_interval")
    interval = int(interval_field.contents()) if interval_field is not None else 4

    def empty() -> dict[str, float]:
        return {"params": 0.0, "expert": 0.0, "bytes": 0.0}

    outside = empty()
    blocks: dict[int, dict[str, float]] = {}
    recurrent: set[int] = set()
    for tensor in reader.tensors:
        if tensor.name.startswith("blk."):
            index = int(tensor.name.split(".")[1])
            bucket = blocks.setdefault(index, empty())
            if tensor.name.endswith(".ssm_out.weight"):
                recurrent.add(index)
        else:
            bucket = outside
        bucket["params"] += int(tensor.n_elements)
        bucket["bytes"] += int(tensor.n_bytes)
        if EXPERT_MARK in tensor.name:
            bucket["expert"] += int(tensor.n_elements)

    def active(totals: dict[str, float]) -> float:
        return totals["params"] - totals["expert"] + totals["expert"] * used / experts

    def mean(indexes: list[int]) -> dict[str, float]:
        if not indexes:
            raise ValueError("the file has no block of a kind the full model needs")
        return {k: sum(blocks[i][k] for i in indexes) / len(indexes) for k in empty()}

    kinds = {
        True: mean(sorted(recurrent)),
        False: mean(sorted(set(blocks) - recurrent)),
    }
    full = dict(outside)
    for i in range(n_layers):
        per_block = kinds[(i + 1) % interval != 0]
        for k in full:
            full[k] += per_block[k]
    here = dict(outside)
    for block in blocks.values():
        for k in here:
            here[k] += block[k]
    return {
        "layers": len(blocks),
        "total_params": int(here["params"]),
        "active_params": int(active(here)),
        "tensor_bytes": int(here["bytes"]),
        "full_layers": n_layers,
        "full_total_params": int(full["params"]),
        "full_active_params": int(active(full)),
        "full_tensor_bytes": int(full["bytes"]),
    }


__all__ = [
    "ARCHITECTURES",
    "QWEN36_35B_A3B",
    "REAL_SHAPE_RECIPE",
    "TINY_CHAT_TEMPLATE",
    "MoEShape",
    "extrapolate_layers",
    "padded_tokenizer",
    "q4_k_m_types",
    "random_k_blocks",
    "tensor_layout",
    "write_real_shape_moe",
    "write_sparse_moe",
    "write_tiny_moe",
]
