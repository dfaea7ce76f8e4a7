"""What a ``ui.keymap`` asks for that cannot work as the user meant.

Textual applies a keymap silently: an id that no key has does nothing, and a
key given to one action is taken from the action that had it (``run_both = "q"``
left Quit without its ``q``). :func:`keymap_problems` says both, in the words
of the help screen, for the app to show once at start. :func:`keymap_to_apply`
is the keymap the app applies: an action left without its key but with one of
Textual's own (Quit's ctrl+q) is given that one, so the footer shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from textual.binding import Binding, BindingsMap, BindingType

KEPT_KEYS = {"quit": "ctrl+q"}
"""Actions that keep a key of Textual's own (``App.BINDINGS``) when the keymap takes
theirs. Textual does not show that key in the footer (with ``help = "q"`` the footer
had no Quit at all): :func:`keymap_to_apply` gives it to the action's own binding."""


def keymap_to_apply(keymap: Mapping[str, str], main: Iterable[BindingType]) -> dict[str, str]:
    """``keymap``, and for each main-screen action (of ``main``) it leaves with no key of
    its own, the key of :data:`KEPT_KEYS` that action keeps (unless ``keymap`` gives that
    key too): the footer and the help then show it as the action's key."""
    given = {key for keys in keymap.values() for key in _keys(keys)}
    applied = dict(keymap)
    for binding in _displaced(keymap, list(Binding.make_bindings(main))):
        kept = KEPT_KEYS.get(binding.action)
        if binding.id is not None and kept is not None and kept not in given:
            applied[binding.id] = kept
    return applied


def keymap_problems(
    keymap: Mapping[str, str], main: Iterable[BindingType], known: Iterable[str] = ()
) -> list[str]:
    """One line for each id of ``keymap`` that no key has, and for each main-screen
    action (of ``main``) that ``keymap`` leaves with no key of its own. ``known``:
    more ids that are not looked up (the prompt box's)."""
    bindings = list(Binding.make_bindings(main))
    known = {binding.id for binding in bindings if binding.id} | set(known)
    unknown = [name for name in keymap if name not in known]
    if unknown:  # the other screens' ids, looked up only when needed (imports)
        known |= _other_ids()
        unknown = [name for name in unknown if name not in known]
    problems = [f'ui.keymap: "{name}" is not a key\'s id, so it does nothing' for name in unknown]
    for name, keys in keymap.items():
        wrong = [key for key in _keys(keys) if not _is_key(key)]
        none = ", so no key does it" if len(wrong) == len(_keys(keys)) else ""
        problems += [f'ui.keymap: "{key}" (for {name}) is not a key{none}' for key in wrong]
    problems += _taken(keymap, bindings)
    return problems


MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
"""What may stand before a key's name, each followed by "+" ("ctrl+shift+home")."""


def _is_key(key: str) -> bool:
    """Whether a terminal can send ``key`` as Textual names it: a character ("C",
    "<"), a character's name ("less_than_sign"), or a key of its own ("f5", "home",
    "ctrl+a"), after modifiers. Textual takes any word and binds it to nothing: the
    footer and the help then listed "notakey" as the key of an action no key did."""
    from textual.keys import Keys, key_to_character

    *modifiers, name = key.split("+") if key != "+" else ["+"]
    if not name or not set(modifiers) <= MODIFIERS:
        return False
    return (
        len(name) == 1
        or key_to_character(name) is not None
        or name in {member.value for member in Keys}
    )


def _taken(keymap: Mapping[str, str], bindings: list[Binding]) -> list[str]:
    problems = []
    given = {key for keys in keymap.values() for key in _keys(keys)}
    for binding in _displaced(keymap, bindings):
        takers = [name for name, keys in keymap.items() if binding.key in _keys(keys)]
        taken = f"ui.keymap gives {binding.key} to {', '.join(takers)}: "
        kept = KEPT_KEYS.get(binding.action)
        if kept is not None and kept not in given:
            problems.append(f"{taken}{binding.description} ({binding.id}) is on {kept} now")
        else:
            problems.append(f"{taken}{binding.description} ({binding.id}) has no key now")
    return problems


def _displaced(keymap: Mapping[str, str], bindings: list[Binding]) -> list[Binding]:
    """The bindings (with an id) that ``keymap`` leaves with no key, each id once, in
    binding order."""
    # Not apply_keymap's clashed_bindings: Textual 8 leaves out a binding the keymap
    # does not name (quit, for run_both = "q").
    remapped = BindingsMap(bindings)
    remapped.apply_keymap(keymap)
    left = {binding.id for _key, binding in remapped}
    displaced: dict[str, Binding] = {}
    for binding in bindings:
        if binding.id is not None and binding.id not in left:
            displaced.setdefault(binding.id, binding)
    return list(displaced.values())


def _keys(keys: str) -> list[str]:
    return [key.strip() for key in keys.split(",")]


def _other_ids() -> set[str]:
    """The ids of every binding of the app's screens and widgets, read from their
    source: importing them all would import textual-image, which asks the terminal
    a question at import, and with Textual reading the answers that read waited for
    ever (the app hung before its first frame until a key was pressed)."""
    import ast

    import pelican_tui.screens
    import pelican_tui.widgets

    ids: set[str] = set()
    for package in (pelican_tui.screens, pelican_tui.widgets):
        for folder in package.__path__:
            for path in Path(folder).glob("*.py"):
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Binding":
                        for keyword in node.keywords:
                            value = getattr(keyword.value, "value", None)
                            if keyword.arg == "id" and isinstance(value, str):
                                ids.add(value)
    return ids
