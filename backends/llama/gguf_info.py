"""What a GGUF file says about itself, and whether it fits in memory.

:func:`read_gguf_info` reads only the header and the tensor table of a model
file (memory-mapped, through llama.cpp's own ``gguf`` package), so it takes
well under a second even on a 20 GB file: tensor data is never touched. The
``gguf`` package and numpy (~0.1 s to import) are imported by the first read,
not with this module: the facts and formatting helpers stay cheap to import.

:func:`estimate_memory` and :func:`check_fit` turn those facts into "will this
run with this context on this machine?". The estimate is deliberately simple
and errs on the generous side: weights (all of them: llama-server maps the
whole file), the KV cache of the layers that have one, the recurrent state of
linear-attention layers, and a fixed allowance for compute buffers.
"""

from __future__ import annotations

import functools
import stat
import struct
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pelican_tui.backends.frozen import frozen

if TYPE_CHECKING:  # the gguf package (and numpy) load only when a header is read
    from gguf import GGUFReader
    from gguf.constants import GGMLQuantizationType

GIB = 1024**3
MIB = 1024**2

GGUF_MAGIC = b"GGUF"
EXPERT_TENSOR_MARK = "_exps"
"""Routed-expert tensors (``ffn_up_exps``, ``ffn_gate_up_exps``...) carry this in their name.

Shared experts are named ``*_shexp`` and, like the router (``ffn_gate_inp``),
run for every token, so they count fully towards the active parameters.
"""

HYBRID_DEFAULT_FULL_ATTENTION_INTERVAL: dict[str, int] = {
    "qwen3next": 4,
    "qwen35": 4,
    "qwen35moe": 4,
}
"""Hybrid architectures where only every n-th layer is full attention.

The value is llama.cpp's default when the file has no
``{arch}.full_attention_interval``; the other layers are linear attention
(Gated DeltaNet) with a small fixed-size state instead of a KV cache.
"""

COMPUTE_BUFFER_BYTES = 512 * MIB
"""Allowance for llama-server's compute buffers and runtime (a rule of thumb, CPU build)."""

RECURRENT_STATE_BYTES_PER_ELEM = 4
"""llama.cpp keeps the conv and SSM states in F32."""

TIGHT_FRACTION = 0.85
"""Above this share of the available memory, the fit is reported as tight."""

_GUESSED_FILE_TYPE_FLAG = 1024


class GGUFError(Exception):
    """A model file that cannot be read; the message is one line for a person."""


INCOMPLETE_HINT = "an interrupted download or copy leaves this; fetch the file again"
"""What helps with a truncated or damaged file (nothing in pelican-tui's settings can)."""


@frozen
class GGUFInfo:
    """Facts from a GGUF file's header and tensor table."""

    path: Path
    file_size: int
    """Bytes on disk."""
    architecture: str
    """llama.cpp's name for the model family (``general.architecture``), e.g. ``qwen35moe``."""
    name: str | None
    """``general.name``, when the file has one."""
    total_params: int
    """Every element of every tensor (what llama-server reports as ``n_params``)."""
    active_params: int
    """Parameters used per token: everything but routed experts, plus used/total of those."""
    expert_count: int | None
    """Routed experts per MoE layer; None for a dense model."""
    expert_used_count: int | None
    """Routed experts chosen per token; None for a dense model."""
    quantization: str
    """A label like ``Q4_K_M``, from ``general.file_type`` or the dominant tensor type."""
    bits_per_weight: float
    """Tensor bytes * 8 / total parameters."""
    tensor_bytes: int
    """Bytes of tensor data (the file minus its header)."""
    context_length: int | None
    """Context the model was trained for."""
    block_count: int | None
    """Transformer blocks, including any multi-token-prediction blocks."""
    embedding_length: int | None
    head_count: int | None
    """Attention (query) heads; the largest value when the file lists one per layer."""
    head_count_kv: int | None
    """Key/value heads; the largest value when the file lists one per layer."""
    key_length: int | None
    """Per-head key size when the file states it (otherwise embedding / heads)."""
    value_length: int | None
    """Per-head value size when the file states it (otherwise embedding / heads)."""
    full_attention_interval: int | None
    """For hybrid architectures: every n-th layer is full attention."""
    kv_heads_per_layer: tuple[int, ...]
    """Key/value heads of each layer that keeps a KV cache (0 for layers without one)."""
    recurrent_state_bytes: int
    """Fixed state of the linear-attention / SSM layers, per sequence."""

    @property
    def is_moe(self) -> bool:
        return self.expert_count is not None

    @property
    def head_dim_k(self) -> int | None:
        if self.key_length is not None:
            return self.key_length
        if self.embedding_length and self.head_count:
            return self.embedding_length // self.head_count
        return None

    @property
    def head_dim_v(self) -> int | None:
        if self.value_length is not None:
            return self.value_length
        return self.head_dim_k

    def bytes_per_token_read(self) -> float:
        """Weight bytes read to generate one token (what memory bandwidth divides)."""
        return self.active_params * self.bits_per_weight / 8

    def summary(self) -> str:
        """One line for a person.

        e.g. ``qwen3moe · 35.0B total / 3.0B active · Q4_K_M · 20.4 GB · ctx 262144``.
        """
        if self.is_moe:
            params = (
                f"{format_params(self.total_params)} total / "
                f"{format_params(self.active_params)} active"
            )
        else:
            params = f"{format_params(self.total_params)} params"
        parts = [self.architecture, params, self.quantization, format_size(self.file_size)]
        if self.context_length:
            parts.append(f"ctx {self.context_length}")
        return " · ".join(parts)


@frozen
class MemoryEstimate:
    """Bytes a model needs at a given context."""

    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    """Recurrent state of linear-attention layers plus compute buffers."""
    total_bytes: int


FitLevel = Literal["ok", "tight", "too_big"]


@frozen
class FitVerdict:
    """Whether an estimate fits the memory available, said for a person."""

    ok: bool
    """False only when it does not fit at all (``too_big``)."""
    level: FitLevel
    message: str
    """One line with the numbers in GiB."""


def format_params(count: int) -> str:
    """``35.0B``, ``135M``, ``4.2M``, ``800K``."""
    for scale, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= scale:
            value = count / scale
            if suffix in ("T", "B"):
                return f"{value:.1f}{suffix}"
            return f"{value:.0f}{suffix}" if value >= 100 else f"{value:.1f}{suffix}"
    return str(count)


def format_size(size: int) -> str:
    """A file size in decimal units as download pages show them: ``20.4 GB``, ``98.4 MB``."""
    for scale, suffix in ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "kB")):
        if size >= scale:
            return f"{size / scale:.1f} {suffix}"
    return f"{size} B"


def format_gib(size: int) -> str:
    return f"{size / GIB:.1f}"


# --------------------------------------------------------------------------- reading


class _HeaderFault(ValueError):
    """What the header reader found wrong, in its own words (said to the user)."""


class _TruncatedError(ValueError):
    def __init__(self, needed: int) -> None:
        super().__init__(f"tensor data needs {needed} bytes")
        self.needed = needed


@functools.cache
def _header_reader_class() -> type[GGUFReader]:
    """:class:`_HeaderReader`, defined on first use (importing numpy and ``gguf``)."""
    import numpy as np
    import numpy.typing as npt
    from gguf import GGUFReader
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFEndian, GGUFValueType
    from gguf.gguf_reader import ReaderField

    class _HeaderReader(GGUFReader):
        """GGUFReader that skips over the contents of metadata arrays.

        The stock reader makes one numpy view per element of every array, which
        takes seconds for a 150k-entry tokenizer. Here a numeric array becomes one
        view and a string array is stepped over by its length prefixes (its
        contents read back as an empty list): nothing this module needs lives in
        string arrays. Bounds are checked, so a corrupt length fails fast.
        """

        def _get_field_parts(
            self, orig_offs: int, raw_type: int
        ) -> tuple[int, list[npt.NDArray[Any]], list[int], list[GGUFValueType]]:
            if GGUFValueType(raw_type) != GGUFValueType.ARRAY:
                return super()._get_field_parts(orig_offs, raw_type)
            offs = orig_offs
            raw_itype = self._get(offs, np.uint32)
            alen = self._get(offs + 4, np.uint64)
            if len(raw_itype) != 1 or len(alen) != 1:
                raise _HeaderFault("file ends inside a metadata array")
            offs += 12
            item_type = GGUFValueType(int(raw_itype[0]))
            count = int(alen[0])
            types = [GGUFValueType.ARRAY, item_type]
            np_type = self.gguf_scalar_to_np.get(item_type)
            if np_type is not None:
                values = self._get(offs, np_type, count)
                if len(values) != count:
                    raise _HeaderFault("file ends inside a metadata array")
                return offs + int(values.nbytes) - orig_offs, [raw_itype, alen, values], [2], types
            if item_type == GGUFValueType.STRING:
                end = self._skip_strings(offs, count)
                return end - orig_offs, [raw_itype, alen, self.data[offs:end]], [], types
            # Arrays of arrays: rare; let the stock reader handle them.
            return super()._get_field_parts(orig_offs, raw_type)

        def _build_tensors(self, start_offs: int, fields: list[ReaderField]) -> None:
            end = 0
            for field in fields:
                dims, raw_dtype, offset = field.parts[3], field.parts[4], field.parts[5]
                block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(int(raw_dtype[0]))]
                n_bytes = int(np.prod(dims, dtype=np.uint64)) * type_size // block_size
                end = max(end, start_offs + int(offset[0]) + n_bytes)
            if end > len(self.data):
                raise _TruncatedError(end)
            super()._build_tensors(start_offs, fields)

        def _skip_strings(self, offs: int, count: int) -> int:
            fmt = "<Q" if self.endianess == GGUFEndian.LITTLE else ">Q"
            size = len(self.data)
            buffer = self.data.data  # a memoryview: no numpy object per string
            if offs + 8 * count > size:  # each string has at least its 8-byte length
                raise _HeaderFault("file ends inside a metadata string array")
            for _ in range(count):
                if offs + 8 > size:
                    raise _HeaderFault("file ends inside a metadata string array")
                (length,) = struct.unpack_from(fmt, buffer, offs)
                offs += 8 + length
            if offs > size:
                raise _HeaderFault("file ends inside a metadata string array")
            return offs

    return _HeaderReader


def __getattr__(name: str) -> Any:
    if name == "_HeaderReader":  # the tests' recipe reader reaches it by this name
        return _header_reader_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def read_gguf_info(path: Path) -> GGUFInfo:
    """Read a GGUF file's header and tensor table (never its tensor data).

    Raises :class:`GGUFError` with a one-line message for a missing or
    unreadable file, a file that is not GGUF, and a truncated or corrupt one.
    """
    path = Path(path)
    file_size = _check_file(path)
    try:
        reader = _header_reader_class()(path)
    except _TruncatedError as exc:
        whole = format_size(exc.needed)
        raise GGUFError(
            f"{path.name}: truncated GGUF file ({format_size(exc.needed - file_size)} "
            f"of {whole} missing): {INCOMPLETE_HINT}, and check that it is {whole}"
        ) from None
    except Exception as exc:  # the gguf package signals corruption in many ways
        raise GGUFError(
            f"{path.name}: corrupt or truncated GGUF file ({_reason(exc)}): "
            f"{INCOMPLETE_HINT}, and compare its size with the source's"
        ) from exc
    try:
        return _info_from_reader(path, file_size, reader)
    except GGUFError:
        raise
    except Exception as exc:
        raise GGUFError(f"{path.name}: unexpected GGUF metadata ({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    """Why the header does not read: the reader's own words, else (the ``gguf``
    package's and numpy's, e.g. "index 0 is out of bounds for axis 0") plain ones."""
    if isinstance(exc, _HeaderFault):
        return str(exc)
    return "its header does not read as GGUF: a length or count in it is wrong"


def _check_file(path: Path) -> int:
    from gguf.gguf_reader import READER_SUPPORTED_VERSIONS

    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise GGUFError(f"{path}: is a folder, not a GGUF file")
        if not stat.S_ISREG(mode):  # a pipe would block the read, a device never end
            raise GGUFError(f"{path}: is a device or a pipe, not a GGUF file")
        with path.open("rb") as handle:
            start = handle.read(8)
            size = handle.seek(0, 2)
    except FileNotFoundError:
        raise GGUFError(f"{path}: no such file") from None
    except OSError as exc:
        raise GGUFError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise GGUFError(f"{path.name}: empty file, not a GGUF model")
    if start[:4] != GGUF_MAGIC:
        raise GGUFError(f"{path.name}: not a GGUF file (it does not start with 'GGUF')")
    if len(start) == 8:
        version = int.from_bytes(start[4:], "little")
        if version & 0xFFFF == 0:  # written on a machine of the other byte order
            version = int.from_bytes(start[4:], "big")
        if version not in READER_SUPPORTED_VERSIONS:
            raise GGUFError(f"{path.name}: GGUF version {version} is not supported")
    return size


def _field(reader: GGUFReader, key: str) -> Any:
    field = reader.get_field(key)
    return None if field is None else field.contents()


def _int_or_none(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, list):
        return max((int(v) for v in value), default=0)
    return int(value)


def _per_layer(value: Any, n_layers: int) -> list[int]:
    if isinstance(value, list):
        values = [int(v) for v in value]
        return (values + [0] * n_layers)[:n_layers]
    return [int(value or 0)] * n_layers


def _info_from_reader(path: Path, file_size: int, reader: GGUFReader) -> GGUFInfo:
    arch = _field(reader, "general.architecture")
    if not isinstance(arch, str) or not arch:
        raise GGUFError(f"{path.name}: GGUF file without general.architecture")

    def key(name: str) -> Any:
        return _field(reader, f"{arch}.{name}")

    total = 0
    expert = 0
    tensor_bytes = 0
    bytes_by_type: Counter[GGMLQuantizationType] = Counter()
    for tensor in reader.tensors:
        n = int(tensor.n_elements)
        total += n
        tensor_bytes += int(tensor.n_bytes)
        if EXPERT_TENSOR_MARK in tensor.name:
            expert += n
        if len(tensor.shape) >= 2:
            bytes_by_type[tensor.tensor_type] += int(tensor.n_bytes)

    expert_count = _int_or_none(key("expert_count")) or None
    expert_used = _int_or_none(key("expert_used_count")) or None
    if expert_count and expert_used and expert:
        active = total - expert + expert * expert_used // expert_count
    else:
        active = total

    block_count = _int_or_none(key("block_count"))
    embedding = _int_or_none(key("embedding_length"))
    head_count_raw = key("attention.head_count")
    head_count_kv_raw = key("attention.head_count_kv")
    head_count = _int_or_none(head_count_raw)
    head_count_kv = _int_or_none(head_count_kv_raw)
    if head_count_kv is None:
        head_count_kv_raw = head_count_raw
    key_length = _int_or_none(key("attention.key_length"))
    value_length = _int_or_none(key("attention.value_length"))

    interval = _int_or_none(key("full_attention_interval"))
    if interval is None:
        interval = HYBRID_DEFAULT_FULL_ATTENTION_INTERVAL.get(arch)
    n_layers = (block_count or 0) - (_int_or_none(key("nextn_predict_layers")) or 0)
    n_layers = max(n_layers, 0)
    recurrent = _recurrent_layers(key("attention.recurrent_layers"), interval, n_layers)
    kv_heads = _per_layer(head_count_kv_raw, n_layers)
    kv_heads = [0 if is_recr else heads for heads, is_recr in zip(kv_heads, recurrent, strict=True)]

    return GGUFInfo(
        path=path,
        file_size=file_size,
        architecture=arch,
        name=_str_or_none(_field(reader, "general.name")),
        total_params=total,
        active_params=active,
        expert_count=expert_count if expert else None,
        expert_used_count=expert_used if expert else None,
        quantization=_quantization_label(_field(reader, "general.file_type"), bytes_by_type),
        bits_per_weight=tensor_bytes * 8 / total if total else 0.0,
        tensor_bytes=tensor_bytes,
        context_length=_int_or_none(key("context_length")),
        block_count=block_count,
        embedding_length=embedding,
        head_count=head_count,
        head_count_kv=head_count_kv if head_count_kv is not None else head_count,
        key_length=key_length,
        value_length=value_length,
        full_attention_interval=interval,
        kv_heads_per_layer=tuple(kv_heads),
        recurrent_state_bytes=_recurrent_state_bytes(key, sum(recurrent)),
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _recurrent_layers(explicit: Any, interval: int | None, n_layers: int) -> list[bool]:
    """Which layers are linear attention / SSM (no KV cache), as llama.cpp decides."""
    if isinstance(explicit, list) and explicit:
        flags = [bool(v) for v in explicit]
        return (flags + [False] * n_layers)[:n_layers]
    if interval and interval > 0:
        return [(i + 1) % interval != 0 for i in range(n_layers)]
    return [False] * n_layers


def _recurrent_state_bytes(key: Any, n_recurrent: int) -> int:
    """Conv + SSM state of the recurrent layers for one sequence (llama.cpp's n_embd_r/s)."""
    if n_recurrent == 0:
        return 0
    d_conv = _int_or_none(key("ssm.conv_kernel")) or 0
    d_inner = _int_or_none(key("ssm.inner_size")) or 0
    d_state = _int_or_none(key("ssm.state_size")) or 0
    n_group = _int_or_none(key("ssm.group_count")) or 0
    conv = max(d_conv - 1, 0) * (d_inner + 2 * n_group * d_state)
    state = d_state * d_inner
    return n_recurrent * (conv + state) * RECURRENT_STATE_BYTES_PER_ELEM


def _quantization_label(file_type: Any, bytes_by_type: Counter[GGMLQuantizationType]) -> str:
    from gguf.constants import LlamaFileType

    # A "guessed" flag means the writer did not know either: trust the tensors then.
    if isinstance(file_type, int) and not file_type & _GUESSED_FILE_TYPE_FLAG:
        try:
            name = LlamaFileType(file_type).name
        except ValueError:
            name = ""
        if name:
            return name.removeprefix("MOSTLY_").removeprefix("ALL_")
    if bytes_by_type:
        return bytes_by_type.most_common(1)[0][0].name
    return "unknown"


# --------------------------------------------------------------------------- memory


def estimate_memory(
    info: GGUFInfo, context: int, kv_bytes_per_elem: float = 2, parallel: int = 1
) -> MemoryEstimate:
    """Memory llama-server needs for ``info`` at ``context`` tokens.

    KV cache = (K + V) * layers that keep one * context * KV heads * head size *
    bytes per element (2 for the default F16 cache, about 1.06 for q8_0).
    Hybrid models (``qwen35moe``) keep a KV cache only in their full-attention
    layers; their linear-attention layers hold a fixed state per sequence
    (``parallel`` sequences), counted in the overhead with the compute buffers.
    Sliding-window and MLA caches are estimated as full caches: generous.
    """
    if context < 1:
        raise ValueError(f"context must be at least 1 token, got {context}")
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, got {parallel}")
    k_dim = info.head_dim_k or 0
    v_dim = info.head_dim_v or 0
    kv_elems_per_token = sum(heads * (k_dim + v_dim) for heads in info.kv_heads_per_layer)
    kv_cache = int(kv_elems_per_token * context * kv_bytes_per_elem)
    overhead = COMPUTE_BUFFER_BYTES + info.recurrent_state_bytes * parallel
    weights = info.tensor_bytes
    return MemoryEstimate(
        weights_bytes=weights,
        kv_cache_bytes=kv_cache,
        overhead_bytes=overhead,
        total_bytes=weights + kv_cache + overhead,
    )


def check_fit(estimate: MemoryEstimate, available_bytes: int) -> FitVerdict:
    """Compare an estimate with the memory available (e.g. psutil's ``available``)."""
    need = (
        f"needs {format_gib(estimate.total_bytes)} GiB "
        f"(weights {format_gib(estimate.weights_bytes)} + "
        f"KV cache {format_gib(estimate.kv_cache_bytes)} + "
        f"overhead {format_gib(estimate.overhead_bytes)})"
    )
    have = f"{format_gib(available_bytes)} GiB available"
    if estimate.total_bytes > available_bytes:
        return FitVerdict(
            ok=False,
            level="too_big",
            message=f"Too big: {need}, only {have}; lower the context or pick a smaller quant.",
        )
    if estimate.total_bytes > available_bytes * TIGHT_FRACTION:
        return FitVerdict(
            ok=True,
            level="tight",
            message=f"Tight: {need} of {have}; close other apps or lower the context.",
        )
    return FitVerdict(ok=True, level="ok", message=f"Fits: {need} of {have}.")
