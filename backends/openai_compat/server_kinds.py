"""What an attached server is, asked of its own endpoints, and what it says about its model.

=================  ==========================================  =====================================
kind               recognised by                               model facts from
=================  ==========================================  =====================================
llama.cpp          ``/props`` (``build_info``), or             ``/v1/models`` ``meta``, ``/props``,
                   ``owned_by: "llamacpp"`` in ``/v1/models``  ``/apply-template`` (does the
                                                               thinking switch change the prompt?)
Ollama             ``/api/version`` and ``/api/tags``          ``/api/show`` (details, model_info,
                                                               capabilities, parameters, modelfile)
LM Studio          ``/api/v0/models`` (entries with            ``/api/v0/models/{id}``,
                   ``compatibility_type`` / ``state``; or      ``/api/v1/models`` (0.4+: params,
                   empty, with ``/api/v1/models`` ``models``)  ``capabilities.reasoning``)
vLLM               ``owned_by: "vllm"`` in ``/v1/models``;     its ``/v1/models`` card
                   ``/version``                                (``max_model_len``, ``root``)
OpenAI-compatible  anything else                               nothing beyond the model id
=================  ==========================================  =====================================

Every request here is a GET or a read-only POST and may fail: a fact that
cannot be had is left None, never guessed. :func:`identify` and
:func:`model_facts` never raise for a server's answer (transport errors are
the caller's, who has already reached the server).
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.llama.gguf_info import format_params
from pelican_tui.backends.text import one_line

if TYPE_CHECKING:  # imported where a request is made: the first frame does not wait for it
    import httpx

LLAMA_CPP = "llama.cpp"
OLLAMA = "Ollama"
LM_STUDIO = "LM Studio"
VLLM = "vLLM"
OPENAI_COMPATIBLE = "OpenAI-compatible"
KINDS = (LLAMA_CPP, OLLAMA, LM_STUDIO, VLLM, OPENAI_COMPATIBLE)


@frozen
class ServerKind:
    """Which server answers, and the version it gives (None: it gives none)."""

    name: str = OPENAI_COMPATIBLE
    version: str | None = None

    @property
    def label(self) -> str:
        """``Ollama 0.12.3``, ``llama.cpp b11434``, ``OpenAI-compatible``."""
        return f"{self.name} {self.version}" if self.version else self.name


@frozen
class ModelFacts:
    """What the server says about the model it serves (None: it does not say)."""

    total_params: int | None = None
    params_text: str | None = None
    """The parameter count as the server writes it (Ollama ``30.5B``, LM Studio ``7B``)."""
    quant: str | None = None
    context: int | None = None
    """The context the model is loaded with."""
    trained_ctx: int | None = None
    arch: str | None = None
    file: str | None = None
    """The model file's path on the server's machine (llama.cpp, Ollama)."""
    thinks: bool | None = None
    """Whether the model has a thinking mode: Ollama's ``thinking`` capability,
    LM Studio's ``capabilities.reasoning``, llama.cpp's chat template changing
    the prompt with ``enable_thinking``. None: the server does not say."""
    think_levels: tuple[str, ...] = ()
    """Named thinking levels the model takes instead of on/off (Ollama ``gpt-oss``)."""

    def record(self) -> dict[str, Any]:
        """The facts as ``model_info`` keys (those the export labels)."""
        out: dict[str, Any] = {}
        if self.total_params:
            out["total_params"] = self.total_params
        elif self.params_text:
            out["params"] = self.params_text
        for key in ("quant", "context", "trained_ctx", "arch"):
            value = getattr(self, key)
            if value:
                out[key] = value
        if self.thinks is not None:
            out["model_thinks"] = self.thinks
        return out

    def bits(self) -> list[str]:
        """The facts for a pane header: ``30.5B``, ``Q4_K_M``, ``ctx 40960``."""
        out: list[str] = []
        if self.params_text:
            out.append(self.params_text)
        elif self.total_params:
            out.append(format_params(self.total_params))
        if self.quant:
            out.append(self.quant)
        if self.context or self.trained_ctx:
            out.append(f"ctx {self.context or self.trained_ctx}")
        return out


async def get_json(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    """``GET url`` as JSON; None for any other status, a body that is not JSON, or an error."""
    return await _json(client, "GET", url, headers)


async def _json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any = None,
) -> Any:
    import httpx

    try:
        response = await client.request(method, url, headers=headers, json=body)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def listing_entries(listing: Any) -> list[dict[str, Any]]:
    """The model cards of a ``/v1/models`` body (entries with a string ``id``)."""
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        return []
    return [e for e in data if isinstance(e, dict) and isinstance(e.get("id"), str)]


def is_llama_props(props: Any) -> bool:
    """Whether a ``/props`` body is llama-server's."""
    return isinstance(props, dict) and (
        "default_generation_settings" in props or "build_info" in props
    )


async def identify(
    client: httpx.AsyncClient, root: str, headers: dict[str, str], listing: Any, props: Any
) -> ServerKind:
    """Which server is at ``root``, from its ``/v1/models`` body, its ``/props`` body,
    and (when those do not tell) ``/api/version``, ``/api/tags`` and ``/api/v0/models``."""
    owners = {entry.get("owned_by") for entry in listing_entries(listing)}
    if is_llama_props(props) or "llamacpp" in owners:
        build = props.get("build_info") if isinstance(props, dict) else None
        return ServerKind(LLAMA_CPP, _str(build))
    if "vllm" in owners:
        version = await get_json(client, f"{root}/version", headers)
        return ServerKind(VLLM, _version(version))
    version, lm_models = await asyncio.gather(
        get_json(client, f"{root}/api/version", headers),
        get_json(client, f"{root}/api/v0/models", headers),
    )
    if _version(version) is not None:
        tags = await get_json(client, f"{root}/api/tags", headers)
        if isinstance(tags, dict) and isinstance(tags.get("models"), list):
            return ServerKind(OLLAMA, _version(version))
    if any(_lm_studio_card(entry) for entry in _data(lm_models)):
        return ServerKind(LM_STUDIO)
    if _empty_list(lm_models):  # LM Studio with no model: its 0.4 list says it is one
        v1 = await get_json(client, f"{root}/api/v1/models", headers)
        if isinstance(v1, dict) and isinstance(v1.get("models"), list):
            return ServerKind(LM_STUDIO)
    return ServerKind(OPENAI_COMPATIBLE)


def _empty_list(body: Any) -> bool:
    """Whether ``body`` is an OpenAI-style list with nothing in it."""
    return isinstance(body, dict) and body.get("object") == "list" and body.get("data") == []


def _version(body: Any) -> str | None:
    return _str(body.get("version")) if isinstance(body, dict) else None


def _data(body: Any) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def _lm_studio_card(entry: dict[str, Any]) -> bool:
    return "compatibility_type" in entry or ("state" in entry and "max_context_length" in entry)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _str(value: Any) -> str | None:
    """A string the server gave, as it may be shown (None: none, or not a string)."""
    return one_line(value) or None if isinstance(value, str) else None


async def model_facts(
    client: httpx.AsyncClient,
    root: str,
    headers: dict[str, str],
    kind: ServerKind,
    model: str | None,
    listing: Any,
    props: Any,
) -> ModelFacts:
    """What the server says about ``model`` (see the module table)."""
    card = next((e for e in listing_entries(listing) if e["id"] == model), None)
    if kind.name == LLAMA_CPP:
        return await _llama_cpp_facts(client, root, headers, card, props)
    if kind.name == OLLAMA and model:
        show = await _json(client, "POST", f"{root}/api/show", headers, {"model": model})
        return ollama_facts(show)
    if kind.name == LM_STUDIO and model:
        v0, v1 = await asyncio.gather(
            get_json(client, f"{root}/api/v0/models/{model}", headers),
            get_json(client, f"{root}/api/v1/models", headers),
        )
        return lm_studio_facts(v0, v1, model)
    if kind.name == VLLM and card is not None:
        return ModelFacts(context=_int(card.get("max_model_len")))
    return ModelFacts()


async def _llama_cpp_facts(
    client: httpx.AsyncClient,
    root: str,
    headers: dict[str, str],
    card: dict[str, Any] | None,
    props: Any,
) -> ModelFacts:
    meta = card.get("meta") if card is not None else None
    meta = meta if isinstance(meta, dict) else {}
    props = props if isinstance(props, dict) else {}
    settings = props.get("default_generation_settings")
    loaded_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
    thinks = await template_thinks(client, root, headers)
    return ModelFacts(
        total_params=_int(meta.get("n_params")),
        quant=_str(meta.get("ftype")) or _str(props.get("model_ftype")),
        context=_int(meta.get("n_ctx")) or _int(loaded_ctx),
        trained_ctx=_int(meta.get("n_ctx_train")),
        file=_str(props.get("model_path")),
        thinks=thinks,
    )


async def template_thinks(
    client: httpx.AsyncClient, root: str, headers: dict[str, str]
) -> bool | None:
    """Whether the model of the llama-server at ``root`` has a thinking switch: its chat
    template (``POST /apply-template``) makes a different prompt with ``enable_thinking``
    true and false. None: the server did not say."""
    prompts = await asyncio.gather(
        *(
            _json(
                client,
                "POST",
                f"{root}/apply-template",
                headers,
                {
                    "messages": [{"role": "user", "content": "hi"}],
                    "chat_template_kwargs": {"enable_thinking": on},
                },
            )
            for on in (True, False)
        )
    )
    texts = [p.get("prompt") if isinstance(p, dict) else None for p in prompts]
    return texts[0] != texts[1] if all(isinstance(t, str) for t in texts) else None


def ollama_facts(show: Any) -> ModelFacts:
    """Facts from an Ollama ``/api/show`` body."""
    if not isinstance(show, dict):
        return ModelFacts()
    details, info = _dict(show.get("details")), _dict(show.get("model_info"))
    arch = _str(info.get("general.architecture"))
    capabilities = show.get("capabilities")
    thinks = "thinking" in capabilities if isinstance(capabilities, list) else None
    levels: tuple[str, ...] = ()
    thinking = show.get("thinking")
    if isinstance(thinking, dict) and isinstance(thinking.get("values"), list):
        levels = tuple(v for v in thinking["values"] if isinstance(v, str))
    num_ctx = re.search(r"^\s*num_ctx\s+(\d+)", _text(show.get("parameters")), re.MULTILINE)
    source = re.search(r"^FROM\s+(/\S+)", _text(show.get("modelfile")), re.MULTILINE)
    return ModelFacts(
        total_params=_int(info.get("general.parameter_count")),
        params_text=_str(details.get("parameter_size")),
        quant=_str(details.get("quantization_level")),
        context=int(num_ctx.group(1)) if num_ctx else None,
        trained_ctx=_int(info.get(f"{arch}.context_length")) if arch else None,
        arch=arch or _str(details.get("family")),
        file=source.group(1) if source else None,
        thinks=thinks,
        think_levels=levels,
    )


def lm_studio_facts(v0: Any, v1: Any, model: str) -> ModelFacts:
    """Facts from LM Studio's ``/api/v0/models/{id}`` and (0.4+) ``/api/v1/models`` bodies."""
    v0 = v0 if isinstance(v0, dict) else {}
    models = v1.get("models") if isinstance(v1, dict) else None
    entry: dict[str, Any] = {}
    for candidate in models if isinstance(models, list) else ():
        if not isinstance(candidate, dict):
            continue
        instances = candidate.get("loaded_instances")
        ids = {i.get("id") for i in instances if isinstance(i, dict)} if instances else set()
        if candidate.get("key") == model or model in ids:
            entry = candidate
            break
    loaded = None
    for instance in entry.get("loaded_instances") or ():
        config = instance.get("config") if isinstance(instance, dict) else None
        loaded = loaded or (_int(config.get("context_length")) if config else None)
    quant = entry.get("quantization")
    capabilities = entry.get("capabilities")
    reasoning = capabilities.get("reasoning") if isinstance(capabilities, dict) else None
    # 0.4+ lists a reasoning setting for the models that have one.
    thinks = isinstance(reasoning, dict) if isinstance(capabilities, dict) else None
    return ModelFacts(
        params_text=_str(entry.get("params_string")),
        quant=_str(v0.get("quantization")) or (_str(quant.get("name")) if quant else None),
        context=_int(v0.get("loaded_context_length")) or loaded,
        trained_ctx=_int(v0.get("max_context_length")) or _int(entry.get("max_context_length")),
        arch=_str(v0.get("arch")) or _str(entry.get("architecture")),
        thinks=thinks,
    )


__all__ = [
    "KINDS",
    "LLAMA_CPP",
    "LM_STUDIO",
    "OLLAMA",
    "OPENAI_COMPATIBLE",
    "VLLM",
    "ModelFacts",
    "ServerKind",
    "identify",
    "model_facts",
    "template_thinks",
]
