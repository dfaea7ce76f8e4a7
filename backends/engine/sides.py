"""The model backends a comparison can put in a pane, built from the settings.

One place decides how a backend is made for the local model (a spawned
llama-server or an attached URL), so the TUI, ``pelican-tui run`` and
``doctor`` all talk to the same thing.
"""

from __future__ import annotations

from pathlib import Path

from pelican_tui.backends.llama.local_model import LocalPlan, server_config
from pelican_tui.backends.llama.server import LlamaServer, StatusCallback
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.settings import LocalSettings


def make_local_backend(
    local: LocalSettings,
    plan: LocalPlan,
    binary: Path | None,
    on_status: StatusCallback | None = None,
) -> OpenAICompatibleBackend:
    """The local backend for ``plan``: a spawned server (not started yet) or a URL."""
    if plan.mode == "attach":
        return OpenAICompatibleBackend.attached(
            plan.url or "",
            name="local",
            model=local.url_model,
            api_key_env=local.url_api_key_env,
            facts=plan.facts(),
            stream_timeout_s=local.stream_timeout_s,
        )
    if binary is None:
        raise ValueError("a llama-server binary is needed to spawn the local model")
    server = LlamaServer(server_config(local, plan, binary), on_status=on_status)
    return OpenAICompatibleBackend(
        server=server,
        name="local",
        facts=plan.facts(),
        stream_timeout_s=local.stream_timeout_s,
    )
