"""The local sides of a models folder (``local.models_dir``): one per GGUF file,
all served by one llama-server in router mode (:mod:`~pelican_tui.backends.llama.router`).

Each :class:`RouterSide` is a :class:`~.sides.LocalSide` of its own file (its
header facts, decode ceiling, sha256 and record), keyed ``local:<name>`` where
``<name>`` is the router's id for the file, and sends that id as the request's
``model``. They share one :class:`~pelican_tui.backends.llama.process.LlamaServer`
and one ``server_key``, so their runs take turns; before each run the model
is loaded (:func:`~pelican_tui.backends.llama.router.ensure_loaded`), so the
load is not counted in the run's time to first token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pelican_tui.backends import events
from pelican_tui.backends.engine.sides import LOCAL, HashProgress, LocalSide, Side
from pelican_tui.backends.llama.local_model import server_config
from pelican_tui.backends.llama.process import LlamaServer, ServerState, StatusCallback
from pelican_tui.backends.llama.router import RouterLoadError, RouterPlan, ensure_loaded
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.settings import Settings

ROUTER_SERVER_KEY = "llama-server router"


def side_key(name: str) -> str:
    """The side key of the router's model ``name``: ``local:<name>``."""
    return f"{LOCAL}:{name}"


class RouterModelBackend(OpenAICompatibleBackend):
    """One model of the router: loads it first, then streams as any spawned llama-server."""

    def __init__(self, server: LlamaServer, router_name: str, **kwargs: Any) -> None:
        super().__init__(server=server, model=router_name, **kwargs)
        self.router_name = router_name
        self.load_timeout_s = server.config.ready_timeout_s

    async def learn_thinking_switch(self) -> None:
        """Not asked: the router loads a model to answer for it, and loads them one at a
        time, before each run (each model's switch is sent as for any llama-server)."""

    @property
    def thinking_switch_pending(self) -> bool:
        return False  # never asked (:meth:`learn_thinking_switch`)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[events.GenerationEvent]:
        server = self.server
        if server is not None and server.status.state is ServerState.READY:
            try:
                await ensure_loaded(
                    server.base_url, server.api_key, self.router_name, self.load_timeout_s
                )
            except RouterLoadError as error:
                yield events.Failed(str(error), hint="see the server log (l)")
                return
        async for event in super().generate(request):
            yield event


class RouterSide(LocalSide):
    """One GGUF of ``local.models_dir``, served by the shared router."""

    def __init__(
        self,
        settings: Settings,
        router: RouterPlan,
        name: str,
        server: LlamaServer,
        binary: Path | None,
        *,
        ceiling_tok_s: float | None = None,
        on_hash_progress: HashProgress | None = None,
    ) -> None:
        model = router.model(name)
        assert model is not None
        plan = model.local_plan(settings.local, router.available_bytes)
        backend = RouterModelBackend(
            server, name, name=LOCAL, facts=plan.facts(), idle_timeout_s=settings.idle_timeout_s
        )
        super().__init__(
            settings,
            plan,
            binary,
            ceiling_tok_s=ceiling_tok_s,
            on_hash_progress=on_hash_progress,
            backend=backend,
        )
        self.router = router
        self.router_name = name
        self.key = side_key(name)
        self.server_key = ROUTER_SERVER_KEY

    def turn_reason(self, holder: Side | None) -> str:
        if isinstance(holder, RouterSide) and holder.router_name != self.router_name:
            return self.router.turn_reason(self.router_name, holder.router_name)
        if holder is not None and holder.server_key != self.server_key:
            return super().turn_reason(holder)
        return "one llama-server, in turn"

    async def identity(
        self, request: GenerationRequest | None = None
    ) -> tuple[str, dict[str, Any]]:
        model_id, info = await super().identity(request)
        info.pop("server_load_s", None)  # the router's start, not this model's load
        info["router_model"] = self.router_name
        info["models_dir"] = str(self.router.folder)
        info["models_max"] = self.router.models_max
        return model_id, info


def build_router_sides(
    settings: Settings,
    router: RouterPlan,
    binary: Path,
    *,
    on_status: StatusCallback | None = None,
    on_hash_progress: HashProgress | None = None,
) -> list[RouterSide]:
    """One side per model of ``router`` (unreadable files left out), one server for all."""
    from pelican_tui.backends.hardware import cached_ceiling_tokens_per_s

    config = server_config(
        settings.local, binary, models_dir=router.folder, models_max=router.models_max
    )
    server = LlamaServer(config, on_status=on_status)
    return [
        RouterSide(
            settings,
            router,
            model.name,
            server,
            binary,
            ceiling_tok_s=cached_ceiling_tokens_per_s(model.info),
            on_hash_progress=on_hash_progress,
        )
        for model in router.models
        if model.info_error is None
    ]


__all__ = [
    "ROUTER_SERVER_KEY",
    "RouterModelBackend",
    "RouterSide",
    "build_router_sides",
    "side_key",
]
