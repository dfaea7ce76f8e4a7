"""The one way this project declares a value: a frozen, slotted dataclass.

Events, records, settings read from a server, a run's plan: what the engine
passes around is never changed after it is made (a subscriber cannot alter what
another one reads) and holds only its fields. ``@frozen`` says so in one word,
the same everywhere. The class is a plain dataclass (``dataclasses.replace``,
``fields`` and ``asdict`` work), and type checkers read it as one
(:func:`typing.dataclass_transform`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform, overload

T = TypeVar("T")


@overload
def frozen(cls: type[T], /) -> type[T]: ...


@overload
def frozen(*, order: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(
    cls: type[T] | None = None, /, *, order: bool = False
) -> type[T] | Callable[[type[T]], type[T]]:
    """Decorator: ``cls`` as a frozen, slotted dataclass; ``@frozen(order=True)``
    also orders its instances by their fields, as ``dataclass(order=True)`` does."""

    def declare(cls: type[T]) -> type[T]:
        return dataclass(frozen=True, slots=True, order=order)(cls)

    return declare if cls is None else declare(cls)
