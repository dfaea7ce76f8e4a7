"""Server settings: which model llama-server loads and how, checked before (re)starting.

``ServerSettingsScreen`` edits the spawn-related part of :class:`LocalSettings`
and shows, live, what the GGUF header says about the model and whether it fits
in memory (read in a thread worker, debounced, as the path or context changes).
Apply reads the header again, in a thread worker too, to refuse what the server
would not start with. It dismisses with the updated settings (the caller
restarts the server) or None. They last for this session (the screen says so,
and where to keep them): nothing is written to the config file. A model that
does not fit in the memory available, which ``local.fit = "warn"`` lets start,
is applied only when apply is pressed again for the same settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from pelican_tui.backends import locations
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.llama.config import (
    CONTEXT_RANGE,
    LAYERS_RANGE,
    LOAD_MODES,
    THREADS_RANGE,
    hf_reference_problem,
)
from pelican_tui.backends.llama.gguf_info import format_params, format_size
from pelican_tui.backends.llama.local_model import LocalPlan, plan_local
from pelican_tui.backends.secrets import url_without_credentials
from pelican_tui.backends.settings import LocalSettings
from pelican_tui.backends.text import home_path
from pelican_tui.messages import say_if_failed
from pelican_tui.screens.opening_key import opening_key_closes
from pelican_tui.themes import theme_color
from pelican_tui.widgets.footer import KeysFooter

DEFAULT_LOAD_MODE = "default"
"""The load-mode choice meaning "pass no --load-mode" (None in the settings)."""

FACTS_DEBOUNCE_S = 0.35
"""Typing pauses this long before the model file is read again."""

WIDE_LAYOUT_MIN_WIDTH = 120
"""From this width, the facts sit beside the form instead of below it."""
ROOMY_LAYOUT_MIN_HEIGHT = 36
"""From this height, every field shows a line of explanation."""


_FIT_COLORS = {"ok": "text-success", "tight": "text-warning", "too_big": "text-error"}
_FALLBACK_COLORS = {"text-success": "green", "text-warning": "yellow", "text-error": "red"}


@frozen
class _Field:
    id: str
    label: str
    hint: str
    placeholder: str = ""


_FIELDS = (
    _Field(
        "model",
        "Model file",
        "A GGUF file to serve. Empty: the HF reference, or the tiny SmolLM2 stand-in.",
        "empty: HF reference or the tiny stand-in",
    ),
    _Field(
        "hf",
        "HF reference",
        "user/repo[:quant], downloaded by llama-server -hf on start. The model file wins.",
        "e.g. ggml-org/Qwen3.6-35B-A3B-GGUF:Q4_K_M",
    ),
    _Field("context", "Context", "Context size in tokens (-c). The KV cache grows with it.", ""),
    _Field("threads", "Threads", "CPU threads for generation (-t). Empty: automatic.", "auto"),
    _Field(
        "n_cpu_moe",
        "CPU-MoE layers",
        "Keep the expert weights of the first N layers on the CPU (--n-cpu-moe).",
        "off",
    ),
    _Field(
        "gpu_layers",
        "GPU layers",
        "Layers to offload to a GPU (-ngl). Empty: llama-server decides.",
        "auto",
    ),
    _Field(
        "load_mode",
        "Load mode",
        "How weights are loaded (--load-mode): mmap, mlock, ... Default: llama-server decides.",
    ),
)


class ServerSettingsScreen(Screen[LocalSettings | None]):
    """Edit the local model's server settings; dismiss(new settings) or dismiss(None).

    ``ctrl+s`` (or the "Apply & restart" button) validates the form, checks off
    the UI thread that llama-server would start with it (the form is disabled
    meanwhile, so it is applied once), and dismisses with
    ``local.model_copy(update=...)``; invalid fields show their error inline and
    nothing is dismissed. Settings too big for the memory available (allowed by
    ``local.fit = "warn"``) say so under the context and are applied by a second
    apply of the same settings. ``escape`` dismisses None, and so does ``S``, the key
    that opened it, where it is not typed into a text field.

    Args:
        local: The current settings; fields not on the form are kept as they are.
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    TITLE = "Server settings"

    BINDINGS = [
        Binding("ctrl+s", "apply", "Apply & restart", id="server_settings_apply"),
        # The same key (and id, so a keymap moves both) once a model too big was warned
        # about: the footer says what the button says (see check_action).
        Binding("ctrl+s", "apply_anyway", "Apply anyway", id="server_settings_apply"),
        Binding("escape", "cancel", "Cancel", id="server_settings_cancel"),
        # Priorities, so the keys typed right after go to the next field: Textual's own
        # Tab moves the focus after the field it leaves has taken them.
        Binding("tab", "app.focus_next", show=False, priority=True, id="server_settings_next"),
        Binding(
            "shift+tab",
            "app.focus_previous",
            show=False,
            priority=True,
            id="server_settings_previous",
        ),
        # Not a priority: a text field with the focus takes S (a path, an HF reference).
        opening_key_closes("server_settings", action="cancel"),
    ]

    class FactsReady(Message):
        """The model facts for one version of the form."""

        def __init__(self, serial: int, plan: LocalPlan | None, error: str | None) -> None:
            super().__init__()
            self.serial = serial
            self.plan = plan
            self.error = error

    class StartChecked(Message):
        """Whether llama-server would start with the settings being applied."""

        def __init__(
            self,
            candidate: LocalSettings,
            refused: tuple[str, str] | None,
            too_big: str | None = None,
        ) -> None:
            super().__init__()
            self.candidate = candidate
            self.refused = refused
            """The field the refusal is about and why; None: start with ``candidate``."""
            self.too_big = too_big
            """Why ``candidate`` likely runs out of memory (it may still be started)."""

    def __init__(self, local: LocalSettings) -> None:
        super().__init__()
        self.local = local
        self.plan: LocalPlan | None = None
        """The facts shown now (None until the first read completes)."""
        self.facts_error: str | None = None
        self.facts_rows: list[tuple[str, str]] = []
        """The facts panel as plain (label, value) rows."""
        self._serial = 0
        self._facts_timer: Timer | None = None
        self.errors: dict[str, str] = {}
        """The fields the last apply found invalid, with the messages shown under them."""
        self.checking = False
        """An apply is checking the model file; the form waits for it."""
        self.warned: LocalSettings | None = None
        """Settings said to be too big for memory: applying them again starts them."""

    # ----------------------------------------------------------------- layout

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        say_if_failed(self, event)  # Textual tells only this screen
        failed = event.state in (WorkerState.ERROR, WorkerState.CANCELLED)
        if failed and event.worker.group == "settings-apply":
            self._set_checking(False)  # said as it failed; the form is the user's again

    def compose(self) -> ComposeResult:
        local = self.local
        values: dict[str, str] = {
            "model": str(local.model) if local.model is not None else "",
            "hf": local.hf or "",
            "context": str(local.context),
            "threads": "" if local.threads is None else str(local.threads),
            "n_cpu_moe": "" if local.n_cpu_moe is None else str(local.n_cpu_moe),
            "gpu_layers": "" if local.gpu_layers is None else str(local.gpu_layers),
        }
        with Horizontal(id="settings-header"):
            yield Label("Server settings", id="settings-title")
            yield Label(
                "this session only · llama-server restarts on apply", id="settings-subtitle"
            )
        with Horizontal(id="settings-body"):
            with VerticalScroll(id="settings-form"):
                yield Static(
                    f"To keep them: [local] in {home_path(locations.config_file())}",
                    id="settings-keep",
                    markup=False,
                )
                yield Static(
                    "Or the same flags each start: pelican-tui --model, --hf, --ctx, --threads, "
                    "--n-cpu-moe, --ngl, --load-mode.",
                    classes="field-hint",
                    id="settings-keep-flags",
                    markup=False,
                )
                for spec in _FIELDS:
                    with Vertical(classes="field", id=f"field-{spec.id}"):
                        with Horizontal(classes="field-row"):
                            yield Label(spec.label, classes="field-label")
                            if spec.id == "load_mode":
                                yield Select(
                                    [("default (llama-server decides)", DEFAULT_LOAD_MODE)]
                                    + [(mode, mode) for mode in LOAD_MODES],
                                    value=local.load_mode or DEFAULT_LOAD_MODE,
                                    allow_blank=False,
                                    compact=True,
                                    id="settings-load_mode",
                                )
                            else:
                                yield Input(
                                    values[spec.id],
                                    placeholder=spec.placeholder,
                                    type="integer"
                                    if spec.id in ("context", "threads", "n_cpu_moe", "gpu_layers")
                                    else "text",
                                    compact=True,
                                    id=f"settings-{spec.id}",
                                    tooltip=spec.hint,
                                )
                        yield Static(spec.hint, classes="field-hint", markup=False)
                        yield Static("", classes="field-error", id=f"error-{spec.id}")
                with Horizontal(id="settings-buttons"):
                    yield Button("Apply & restart", variant="primary", id="settings-apply")
                    yield Button("Cancel", id="settings-cancel")
            facts = Static("", id="settings-facts")
            facts.border_title = "Model facts"
            yield facts
        yield KeysFooter()

    def on_mount(self) -> None:
        for error in self.query(".field-error"):
            error.display = False
        self._show_facts_text(Text("Reading the model file…", style="italic"))
        self._request_facts(debounce=False)
        self.query_one("#settings-model", Input).focus()

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE_LAYOUT_MIN_WIDTH, "-wide")
        self.set_class(self.size.height >= ROOMY_LAYOUT_MIN_HEIGHT, "-roomy")

    # ----------------------------------------------------------------- facts

    @on(Input.Changed, "#settings-model, #settings-hf, #settings-context")
    def _facts_inputs_changed(self) -> None:
        self._request_facts(debounce=True)

    @on(Input.Changed)
    def _clear_error(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("settings-"):
            self._set_error(event.input.id.removeprefix("settings-"), None)
            if self.warned is not None:  # other settings: checked afresh at the next apply
                self.warned = None
                self._set_checking(self.checking)

    def _request_facts(self, debounce: bool) -> None:
        if self._facts_timer is not None:
            self._facts_timer.stop()
            self._facts_timer = None
        if debounce:
            self._facts_timer = self.set_timer(FACTS_DEBOUNCE_S, self._start_facts)
        else:
            self._start_facts()

    def _start_facts(self) -> None:
        self._facts_timer = None
        self._serial += 1
        values, _ = self._read_form(check_files=False)
        context = values.get("context", self.local.context)
        candidate = self.local.model_copy(
            update={
                "model": values.get("model"),
                "hf": values.get("hf"),
                "context": context if isinstance(context, int) else self.local.context,
                "url": None,
            }
        )
        self.query_one("#settings-facts").add_class("-stale")
        self._read_facts(candidate, self._serial)

    @work(thread=True, exclusive=True, group="settings-facts", exit_on_error=False)
    def _read_facts(self, candidate: LocalSettings, serial: int) -> None:
        try:
            plan = plan_local(candidate)
        except Exception as error:  # shown in the panel, never a traceback
            self.post_message(self.FactsReady(serial, None, f"{type(error).__name__}: {error}"))
            return
        self.post_message(self.FactsReady(serial, plan, None))

    @on(FactsReady)
    def _on_facts(self, message: FactsReady) -> None:
        if message.serial != self._serial:
            return  # an older read finished after a newer one started
        self.plan = message.plan
        self.facts_error = message.error
        self.query_one("#settings-facts").remove_class("-stale")
        if message.plan is None:
            problem = f"Could not read the model: {message.error}"
            self._show_facts_text(Text(problem, self._color("text-error")))
            return
        self._show_facts_rows(self._facts_rows(message.plan))

    def _color(self, variable: str) -> str:
        return theme_color(self.app, variable, _FALLBACK_COLORS[variable])

    def _show_facts_text(self, text: Text) -> None:
        self.facts_rows = [("", text.plain)]
        self.query_one("#settings-facts", Static).update(text)

    def _show_facts_rows(self, rows: list[tuple[str, Text]]) -> None:
        """Label/value rows; values wrap under themselves, not under the labels."""
        self.facts_rows = [(label, value.plain) for label, value in rows]
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(ratio=1)
        for label, value in rows:
            grid.add_row(label, value)
        self.query_one("#settings-facts", Static).update(grid)

    def _facts_rows(self, plan: LocalPlan) -> list[tuple[str, Text]]:
        rows: list[tuple[str, Text]] = []

        def row(label: str, value: str, style: str = "") -> None:
            rows.append((label, Text(value, style=style)))

        if self.local.url:
            origin = self.local.url_origin
            undo = (
                f"clear {origin}"
                if origin == LocalSettings.URL_SETTING
                else f"start without {origin}"
            )
            row(
                "Note",
                f"Attached to {url_without_credentials(self.local.url)}: these settings apply "
                f"when pelican-tui spawns llama-server itself ({undo} for that).",
                self._color("text-warning"),
            )
        info = plan.info
        if plan.model_path is None:
            row("Source", f"{plan.hf} (Hugging Face)")
            row(
                "",
                "llama-server downloads it on start; the facts and the memory estimate "
                "show once the file is on disk. Or enter the file's path above.",
                "italic",
            )
            return rows
        if plan.stand_in:
            row("Source", "the tiny SmolLM2-135M stand-in (no model chosen)")
        row("File", str(plan.model_path))
        if self._form_value("model") and self._form_value("hf"):
            row("Note", "The model file wins over the HF reference.", self._color("text-warning"))
        if info is None:
            if plan.stand_in:
                row(
                    "",
                    "Not downloaded yet: pelican-tui fetches it (about 93 MB) when the "
                    "server starts.",
                    "italic",
                )
            else:
                row("Problem", plan.info_error or "unreadable", self._color("text-error"))
            return rows
        row("Model", info.summary())
        if info.name:
            row("Name", info.name)
        shape = []
        if info.block_count:
            shape.append(f"{info.block_count} layers")
        if info.is_moe:
            shape.append(
                f"{info.expert_used_count} of {info.expert_count} experts per token, "
                f"{format_params(info.active_params)} active"
            )
        shape.append(f"{info.bits_per_weight:.2f} bits/weight")
        row("Shape", " · ".join(shape))
        row("Size", f"{format_size(info.file_size)} on disk")
        if plan.fit is not None:
            row("Memory", plan.fit.message, self._color(_FIT_COLORS[plan.fit.level]))
        return rows

    # ----------------------------------------------------------------- the form

    def _form_value(self, field_id: str) -> str:
        if field_id == "load_mode":
            value = self.query_one("#settings-load_mode", Select).value
            return str(value) if isinstance(value, str) else DEFAULT_LOAD_MODE
        return self.query_one(f"#settings-{field_id}", Input).value.strip()

    def _read_form(self, check_files: bool) -> tuple[dict[str, Any], dict[str, str]]:
        """The form as settings values, and an error message per invalid field."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}

        model = self._form_value("model")
        values["model"] = Path(model).expanduser() if model else None
        if check_files and values["model"] is not None:
            path: Path = values["model"]
            if path.is_dir():
                errors["model"] = "That is a folder; give the .gguf file inside it."
            elif not path.is_file():
                errors["model"] = "No such file."

        hf = self._form_value("hf")
        values["hf"] = hf or None
        problem = hf_reference_problem(hf) if hf else None
        if problem:
            errors["hf"] = f"{problem[0].upper()}{problem[1:]}."

        for field_id, minimum, maximum, required in (
            ("context", *CONTEXT_RANGE, True),
            ("threads", *THREADS_RANGE, False),
            ("n_cpu_moe", *LAYERS_RANGE, False),
            ("gpu_layers", *LAYERS_RANGE, False),
        ):
            number, error = _parse_int(self._form_value(field_id), minimum, maximum, required)
            if error:
                errors[field_id] = error
            else:
                values[field_id] = number

        mode = self._form_value("load_mode")
        values["load_mode"] = None if mode == DEFAULT_LOAD_MODE else mode
        return values, errors

    def _set_error(self, field_id: str, message: str | None) -> None:
        errors = self.query(f"#error-{field_id}")
        if not errors:
            return
        error = errors.first(Static)
        error.update(message or "")
        error.display = bool(message)
        self.query_one(f"#field-{field_id}").set_class(bool(message), "-invalid")

    def _show_errors(self, errors: dict[str, str]) -> None:
        self.errors = errors
        for spec in _FIELDS:
            self._set_error(spec.id, errors.get(spec.id))
        if errors:
            first = next(spec.id for spec in _FIELDS if spec.id in errors)
            self.query_one(f"#settings-{first}").focus()
            self.app.bell()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("apply", "apply_anyway"):
            if (action == "apply_anyway") != (self.warned is not None):
                return False  # the other one is the key shown, as the button says
            if self.checking:
                return None  # shown, not usable: one apply at a time
        return True

    def action_apply_anyway(self) -> None:
        """Apply the settings warned about (too big) once more: they are started."""
        self.action_apply()

    def action_apply(self) -> None:
        if self.checking:
            return
        values, errors = self._read_form(check_files=True)
        self._show_errors(errors)
        if errors:
            return
        self._set_checking(True)
        self._check_start(self.local.model_copy(update=values))

    def _set_checking(self, checking: bool) -> None:
        self.checking = checking
        self.query_one("#settings-form").disabled = checking
        label = "Apply anyway" if self.warned is not None else "Apply & restart"
        label = "Checking the model…" if checking else label
        self.query_one("#settings-apply", Button).label = label
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="settings-apply", exit_on_error=False)
    def _check_start(self, candidate: LocalSettings) -> None:
        """Reads the model's header (a file that may be large, or on a slow disk)."""
        self.post_message(self.StartChecked(candidate, *_start_check(candidate)))

    @on(StartChecked)
    def _on_start_checked(self, message: StartChecked) -> None:
        too_big = message.too_big if message.refused is None else None
        if too_big is not None and message.candidate != self.warned:
            self.warned = message.candidate  # said once: the same apply again starts it
            self._set_checking(False)
            key = self._apply_key()
            again = f"Apply again ({key})" if key else "Apply again"
            anyway = f"{again} to restart llama-server with it anyway: it will likely"
            self._show_errors({"context": f"{too_big} {anyway} run out of memory."})
            return
        self.warned = None
        self._set_checking(False)
        if message.refused is None:
            self.dismiss(message.candidate)
            return
        field_id, problem = message.refused
        self._show_errors({field_id: problem})  # as written: it may begin with a file name

    def _apply_key(self) -> str:
        """The key that applies, as the footer shows it ("^s"; "" if it has none)."""
        for active in self.active_bindings.values():
            if active.binding.id == "server_settings_apply":
                return self.app.get_key_display(active.binding)
        return ""

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#settings-apply")
    def _apply_pressed(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#settings-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()


def _start_check(local: LocalSettings) -> tuple[tuple[str, str] | None, str | None]:
    """Whether llama-server would be started with ``local``, from one read of the
    model's header. First, why it would not, by the rule the start follows
    (:meth:`LocalPlan.start_problem`), and the field it is about; None when it would be
    (or the stand-in is fetched first, or the model is attached). Then, for one that
    would be, why it likely runs out of memory when the memory check lets it start
    anyway (``local.fit = "warn"``: a model too big is a warning); None: it fits, or
    nobody can say (not downloaded, ``fit = "ignore"``)."""
    if local.url:
        return None, None
    plan = plan_local(local)
    if plan.stand_in and plan.info is None:
        return None, None  # not downloaded yet: fetched when the server starts
    problem = plan.start_problem(local)
    if problem is not None:
        return (("model" if plan.info_error else "context"), problem), None
    fit = plan.fit
    return None, (fit.message if fit is not None and not fit.ok else None)


def _parse_int(
    text: str, minimum: int, maximum: int, required: bool
) -> tuple[int | None, str | None]:
    if not text:
        return None, ("Required." if required else None)
    try:
        value = int(text)
    except ValueError:
        return None, "Not a whole number."
    if value < minimum:
        return None, f"At least {minimum}."
    if value > maximum:
        return None, f"At most {maximum}."
    return value, None
