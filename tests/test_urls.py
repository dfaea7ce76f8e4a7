"""One reading of a typed server URL, for settings, the probe and the resource sampler."""

from __future__ import annotations

import pytest

from pelican_tui.backends.openai_compat.probe import normalize_base_url
from pelican_tui.backends.resource_sampler import on_this_machine
from pelican_tui.backends.urls import server_url_problem, split_url, with_scheme


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("  localhost:8080/v1 ", "http://localhost:8080/v1"),
        ("https://gpu-box:8443", "https://gpu-box:8443"),
        ("user:pw@127.0.0.1:9", "http://user:pw@127.0.0.1:9"),
        ("", ""),
    ],
)
def test_a_url_without_a_scheme_is_read_as_http(typed: str, read: str) -> None:
    assert with_scheme(typed) == read
    assert split_url(typed).geturl() == read


def test_every_reader_takes_host_port_the_same_way() -> None:
    typed = "127.0.0.1:8080/v1/"
    assert server_url_problem(typed) is None
    assert normalize_base_url(typed) == "http://127.0.0.1:8080"
    assert on_this_machine(typed)
    assert split_url(typed).port == 8080
    assert (
        server_url_problem("ftp://127.0.0.1:21")
        == "must start with http:// or https://, not ftp://"
    )


@pytest.mark.parametrize("typed", ["notaurl", "localhost", "gpu-box/v1", "user:pw@gpu-box"])
def test_a_word_with_neither_scheme_nor_port_is_not_a_url(typed: str) -> None:
    """``run --url notaurl`` ran, to say "cannot reach notaurl: unknown host name"; a
    value naming neither http(s):// nor a port is refused as what it is."""
    problem = server_url_problem(typed)
    assert problem == "is not a URL: give http://HOST, https://HOST or HOST:PORT"
    assert "pw" not in problem
    assert server_url_problem(f"http://{typed}") is None
