"""One reading of a typed server URL, for settings, the probe and the resource sampler."""

from __future__ import annotations

import pytest

from pelican_tui.backends.openai_compat.probe import normalize_base_url
from pelican_tui.backends.resource_sampler import on_this_machine
from pelican_tui.backends.urls import names_loopback, server_url_problem, split_url, with_scheme


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


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("http://alice:s3cret PW@127.0.0.1:8080", "has a space: percent-encode it as %20"),
        ("alice:s3cret PW@127.0.0.1:8080", "has a space: percent-encode it as %20"),
        (
            "http://alice:s3cret\tPW@127.0.0.1:8080",
            "has a tab, a line break or a control character in it",
        ),
        (
            "http://alice:s3cret{PW@127.0.0.1:8080",
            'has a character that must be percent-encoded (one of " < > \\ ^ ` { | })',
        ),
    ],
)
def test_a_character_that_must_be_percent_encoded_is_refused(typed: str, problem: str) -> None:
    """A space in a password was taken: the URL then went, password and all, into
    session.json, summary.json, run-card.md and the error on stderr, because what finds
    a password in text stops at a space. It is refused, in words that do not repeat it."""
    assert server_url_problem(typed) == problem
    assert "s3cret" not in problem
    encoded = "http://alice:s3cret%20PW@127.0.0.1:8080"
    assert server_url_problem(encoded) is None
    assert server_url_problem("  http://127.0.0.1:8080/v1\n") is None, "around it is not in it"


@pytest.mark.parametrize(
    "password", ["s3c#ret", "s3c?ret", "s3c/ret", "s3c[ret", "s3c]ret", "123#ret", "s3c[r]et"]
)
def test_a_password_that_ends_early_is_named_as_what_it_is(password: str) -> None:
    """A ``#`` or ``?`` in a password was "has a port that is not a number (a user or
    password with / @ or : in it must be percent-encoded)", naming neither; a ``[`` or
    ``]`` was "an IPv6 address needs its closing ]"; ``123#ret`` was taken, to reach a
    host named alice. The words name the characters, and not the password."""
    problem = server_url_problem(f"http://alice:{password}@127.0.0.1:8080/v1")
    assert problem == (
        "has a user or password with a character that must be percent-encoded: "
        "write / ? # [ ] @ as %2F %3F %23 %5B %5D %40 (and : in a user as %3A)"
    )
    assert "ret" not in problem
    assert server_url_problem("http://alice:s3c%23%3F%2F%5B%5Dret@127.0.0.1:8080/v1") is None
    assert server_url_problem("http://alice:pw@[::1]:8080/v1") is None
    assert server_url_problem("http://[::1]:8080/v1") is None
    assert server_url_problem("http://[::1:8080") == (
        "is not a URL: an IPv6 address needs its closing ]"
    )


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("127.0.0.2:8080", True),
        ("http://localhost:1234/v1", True),
        ("http://LocalHost:1234", True),
        ("http://[::1]:11434", True),
        ("http://[::ffff:127.0.0.1]:8080", True),
        ("http://user:pw@127.0.0.1:9", True),
        ("http://192.168.1.20:8080", False),
        ("http://[::ffff:192.0.2.7]:8080", False),
        ("https://gpu-box:8443", False),
        ("http://localhost.example.com:80", False),
        ("http://[::1:8080", False),  # not a URL
        ("", False),
    ],
)
def test_a_loopback_url_is_told_from_its_text_alone(url: str, loopback: bool) -> None:
    """Which URLs go to a server without the environment's proxy: no name is looked up
    (the spawned llama-server's is always 127.0.0.1)."""
    assert names_loopback(url) is loopback
