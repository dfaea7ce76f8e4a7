"""``@frozen``, the one declaration of a value: a frozen, slotted dataclass at run
time, and one to the type checker too."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

from pelican_tui.backends import frozen as frozen_module
from pelican_tui.backends.events import TextDelta
from pelican_tui.backends.frozen import frozen


@frozen
class Point:
    x: int
    picture: bytes = dataclasses.field(default=b"", repr=False)


@frozen(order=True)
class Ranked:
    key: str
    label: str = dataclasses.field(default="", compare=False)


def test_a_value_cannot_be_changed_and_holds_only_its_fields() -> None:
    point = Point(1, b"png")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    assert not hasattr(point, "__dict__")
    assert Point.__slots__ == ("x", "picture")
    assert dataclasses.replace(point, x=3) == Point(3, b"png")
    assert repr(point) == "Point(x=1)"
    assert hash(point) == hash(Point(1, b"png"))


def test_order_is_asked_for_not_given() -> None:
    assert sorted([Ranked("b", "B"), Ranked("a", "Z")]) == [Ranked("a"), Ranked("b")]
    with pytest.raises(TypeError):
        _ = Point(1) < Point(2)  # type: ignore[operator]


def test_the_projects_events_are_declared_with_it() -> None:
    params = TextDelta.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen
    assert "__slots__" in vars(TextDelta)


def test_the_type_checker_reads_it_as_a_frozen_dataclass(tmp_path: Path) -> None:
    shutil.copy(frozen_module.__file__, tmp_path / "frozen.py")
    (tmp_path / "use.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import field
            from frozen import frozen

            @frozen
            class Point:
                x: int
                picture: bytes = field(repr=False)
                size: int

            @frozen(order=True)
            class Ranked:
                key: str

            point = Point(1, b"png", 3)
            point.x = 2
            Point("one", b"png", 3)
            Ranked("a") < Ranked("b")
            point < point
            """
        )
    )
    out, _, status = mypy_api.run(
        [str(tmp_path / "use.py"), "--no-incremental", "--cache-dir", str(tmp_path / "c")]
    )
    errors = sorted(line.split(": error: ")[1] for line in out.splitlines() if ": error: " in line)
    assert status == 1
    assert errors == [
        'Argument 1 to "Point" has incompatible type "str"; expected "int"  [arg-type]',
        'Property "x" defined in "Point" is read-only  [misc]',
        'Unsupported left operand type for < ("Point")  [operator]',
    ]
