"""The run engine: one way to plan, schedule, run and record a comparison.

Both front ends drive a :class:`ComparisonEngine`: the TUI (``pelican_tui.app``)
subscribes to its updates to draw panes, ``pelican-tui run`` to print
progress. Neither builds a request, picks a model id, schedules a run or
decides what is stored; that all happens here and in :mod:`.run`.

A comparison is a prompt and a :class:`~.sides.PaneChoice` per slot. The
engine makes one session for it (or adds to a given one), starts a run per
slot, and lets runs on different servers go together while runs on one server
take turns (thinking on vs. off on one llama-server would otherwise each get
half its speed, and their tokens/s would mislead).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pelican_tui.backends.engine.sides import (
    CLAUDE,
    LOCAL,
    REMOTE,
    ClaudeSide,
    HashProgress,
    LocalSide,
    PaneChoice,
    PaneHeader,
    RemoteSide,
    ServerHandle,
    Side,
    local_kind,
)
from pelican_tui.backends.engine.thinking_check import IGNORED_SWITCH_NOTE, same_request_note
from pelican_tui.backends.engine.updates import (
    Listener,
    RefusalRecorded,
    RunEnded,
    RunProgress,
    RunQueued,
    RunRefused,
    RunStarted,
    SameRequest,
    SessionStarted,
    StoreProblem,
)
from pelican_tui.backends.llama.local_model import LocalPlan, plan_local, uses_models_folder
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.llama.process import (
    STARTING_STATES,
    ServerState,
    ServerStatus,
    StatusCallback,
)
from pelican_tui.backends.protocol import BackendStatus, GenerationRequest
from pelican_tui.backends.settings import LocalSettings, Settings
from pelican_tui.backends.text import NO_SWITCH, NO_THINKING_SWITCH, on_off

if TYPE_CHECKING:
    from pelican_tui.backends.engine.router_sides import RouterSide

    # The run itself (with the store and the exports) is imported by the first
    # comparison, not by the front end's first frame.
    from pelican_tui.backends.engine.run import (
        CHECKPOINT_EVERY_S,
        PNG_SIZE,
        PeakRam,
        RunResult,
        RunSpec,
    )
    from pelican_tui.backends.llama.router import RouterPlan
    from pelican_tui.backends.resource_sampler import ResourceSampler
    from pelican_tui.backends.resources import ResourceSample
    from pelican_tui.backends.store.records import BackendKind, Slot
    from pelican_tui.backends.store.sessions import SessionStore
    from pelican_tui.backends.svg.render import SvgRenderer

SLOTS: tuple[Slot, Slot] = ("left", "right")
SLOW_CHECK_S = 1.0
"""How long a server's check before a run may take before the run's slot says it waits
for it (a slow server asked four things in turn kept the panes idle for 40 s)."""
RAM_SAMPLE_EVERY_S = 0.5
"""How often llama-server's memory is sampled during a run when no front end samples it."""
MAPS_EVERY_SAMPLES = 8
"""Of those samples, how often the model's resident bytes are read: every 4 s, from a
comparison's first sample (the samples between carry the last figure). Reading
llama-server's ``smaps`` costs ~4 ms of CPU idle and ~8-11 ms while it generates
(kernel time, charged to this process), and the model's pages change little within
a run. Every 2nd sample, as before, was ~1 % of a core taken from the model while
it streamed. The front end's sampler reads them as often (1 s, every 4th)."""


_AskedFor = tuple["BackendKind", str, dict[str, Any], dict[str, Any]]
"""What a run of a pane's choice records of itself: its backend, model id, model facts
and settings (:meth:`ComparisonEngine._asked_for`), in :meth:`SessionStore.start_run`'s
order."""


@dataclass
class ComparisonResult:
    """How a comparison ended: its session and each slot's run."""

    session_id: int | None
    results: dict[Slot, RunResult] = field(default_factory=dict)
    refused: dict[Slot, RunRefused] = field(default_factory=dict)
    """Slots whose side could not run, and why (as the listener was told): no request
    was sent. With a session, each is recorded in it as a run that failed ("not run:
    …", :class:`RefusalRecorded`), not in :attr:`results`."""
    cancelled: list[Slot] = field(default_factory=list)
    listener_errors: list[str] = field(default_factory=list)
    """Errors the listener raised (the runs went on and were recorded)."""
    lost: dict[Slot, str] = field(default_factory=dict)
    """Slots whose side could not run again after this comparison, and why: the server
    it owns went down (killed, crashed), which nothing restarts within a batch."""
    not_sent: dict[Slot, str] = field(default_factory=dict)
    """Slots a batch did not send, and why: their side failed for good earlier in it
    (:class:`~.batch.GivenUp`). Nothing was recorded for them."""


class ComparisonEngine:
    """The sides, the session store, the SVG renderer, and the runs between them."""

    def __init__(
        self,
        settings: Settings,
        prepared: Prepared,
        *,
        on_server_status: StatusCallback | None = None,
        on_hash_progress: HashProgress | None = None,
        read_header: bool = True,
    ) -> None:
        """``read_header=False`` leaves the model's header unread (no file read, no numpy):
        for a front end's first frame. :meth:`read_local_header` reads it later, and
        :meth:`start_local` and :meth:`run_comparison` read it first if nobody did."""
        self.settings = settings
        self.prepared = prepared
        self._on_server_status = on_server_status
        self._start_waiters: set[asyncio.Event] = set()
        """One event per comparison waiting for a llama-server to start, set when a
        llama-server's state changes (:meth:`_server_status`)."""
        self._restarting: set[ServerHandle] = set()
        """The llama-servers :meth:`restart_server` restarts now: a run waits for them."""
        self._on_hash_progress = on_hash_progress
        self.plan: LocalPlan
        self.router: RouterPlan | None
        """With ``local.models_dir``: the folder's models, served by one llama-server router."""
        self.plan, self.router = plan_local_models(settings.local, read_header=read_header)
        self.router_sides: list[RouterSide] = []
        """One local side per model of :attr:`router` (``local:<name>``); [] without it."""
        self.local: LocalSide | None = None
        self.local_problem: str | None = None
        self.sides: dict[str, Side] = {}
        self._turns: dict[str, asyncio.Lock] = {}
        self._turn_holder: dict[str, Slot] = {}
        self._turn_sides: dict[str, Side] = {}
        self._peaks: list[PeakRam] = []
        self._once_sampler: ResourceSampler | None = None
        self._sampled_by_front_end = False
        self._store: SessionStore | None = None
        self._store_opening = asyncio.Lock()
        """Held while the store opens: two callers at once (the app's start, a run) would
        open it twice, and a damaged one be moved aside twice."""
        self._own_store = True
        self._store_noticed = False
        """Whether the notices of the store's open were handed out (:meth:`store_notices`)."""
        self._renderer: SvgRenderer | None = None
        self._host: dict[str, Any] | None = None
        self._in_flight: dict[Slot, tuple[int | None, RunProgress | None]] = {}
        self._unsaved: list[Callable[[], None]] = []
        """Ended runs the store could not save whole (:attr:`.RunResult.save_again`)."""
        self._tasks: dict[Slot, list[asyncio.Task[RunResult]]] = {}
        """Every run task by slot: one per comparison, several while one waits its turn."""
        self._unbegun: list[dict[Slot, bool]] = []
        """Per comparison that has begun no run yet (its llama-server starts, its sides
        are checked): its slots, True for those :meth:`drop_unbegun` took out of it."""
        self._build_sides()

    # -- sides -----------------------------------------------------------------------

    def _build_sides(self) -> None:
        self._build_local()
        sides: dict[str, Side] = self._local_sides()
        if self.settings.remote.url:
            sides[REMOTE] = RemoteSide(self.settings)
        sides[CLAUDE] = ClaudeSide(self.settings)
        self.sides = sides

    def _local_sides(self) -> dict[str, Side]:
        """The local sides by key: ``local``, and with a models folder each ``local:<name>``
        (``local`` then names the first, for callers that ask for "the local model")."""
        sides: dict[str, Side] = {}
        if self.local is not None:
            sides[LOCAL] = self.local
        for side in self.router_sides:
            sides[side.key] = side
        return sides

    def _build_local(self) -> None:
        from pelican_tui.backends.hardware import cached_ceiling_tokens_per_s

        settings, plan = self.settings, self.plan
        self.local = None
        self.router_sides = []
        if self.router is not None:
            self._build_router(self.router)
            return
        self.local_problem = self.prepared.problem or plan.problem
        spawn = plan.mode == "spawn"
        can_start = not spawn or self.prepared.binary is not None
        # An unreadable header (or, with fit = "refuse", a model too big for RAM)
        # is said plainly now instead of as llama-server's exit code later.
        if can_start and plan.start_problem(settings.local) is None:
            self.local = LocalSide(
                settings,
                plan,
                self.prepared.binary,
                on_status=self._server_status,
                ceiling_tok_s=cached_ceiling_tokens_per_s(plan.info) if spawn else None,
                on_hash_progress=self._on_hash_progress,
            )

    def _server_status(self, status: ServerStatus) -> None:
        """A llama-server's state changed: wake the runs waiting for it to start, and
        tell the front end. Called on the event loop (``LlamaServer`` calls
        ``on_status`` only from its coroutines), so the waiters' events are set here."""
        self._wake_start_waiters()
        if self._on_server_status is not None:
            self._on_server_status(status)

    def _wake_start_waiters(self) -> None:
        for changed in self._start_waiters:
            changed.set()

    def _build_router(self, router: RouterPlan) -> None:
        """The sides of a models folder, one llama-server router for all (not started)."""
        from pelican_tui.backends.engine.router_sides import build_router_sides

        binary = self.prepared.binary
        self.local_problem = self.prepared.problem or router.problem
        if binary is None or router.problem is not None:
            return
        sides = build_router_sides(
            self.settings,
            router,
            binary,
            on_status=self._server_status,
            on_hash_progress=self._on_hash_progress,
        )
        sides = [s for s in sides if s.plan.start_problem(self.settings.local) is None]
        self.router_sides = sides
        self.local = sides[0] if sides else None
        if self.local is None:
            self.local_problem = self.local_problem or f"no readable model in {router.folder}"

    async def read_local_header(self) -> LocalPlan:
        """Read the local model's header if the plan was made without it (``read_header=False``).

        In a thread (the file is memory-mapped; numpy and ``gguf`` are imported
        the first time). The local side is rebuilt from the full plan: its facts,
        the decode ceiling, and the memory fit, which may now refuse to start it.
        The other sides are kept. Returns the plan, read or not.
        """
        pending = self.plan
        if not pending.header_pending:
            return pending
        plan, router = await asyncio.to_thread(plan_local_models, self.settings.local)
        if self.plan is pending:
            # A server started meanwhile past start_local (a restart key, say)
            # belongs to the side being replaced: stop it, never leave it unowned.
            await self._stop_local_servers()
        if self.plan is pending:  # not replaced meanwhile (reconfigure_local)
            self.plan, self.router = plan, router
            old_local = self._local_sides()
            if self.local is not None:
                self.local.forget_identity()
            for side in old_local.values():
                await side.aclose()
            self._build_local()
            others = {k: s for k, s in self.sides.items() if k not in old_local}
            self.sides = {**self._local_sides(), **others}
        return self.plan

    async def _stop_local_servers(self) -> None:
        servers = {id(s.server): s.server for s in self._local_sides().values() if s.server}
        for server in servers.values():
            if server.running or server.status.state is not ServerState.STOPPED:
                await server.stop()

    def side(self, key: str) -> Side | None:
        return self.sides.get(key)

    @property
    def claude_ready(self) -> bool:
        side = self.sides.get(CLAUDE)
        return side is not None and side.status().ready

    def default_choices(self) -> dict[Slot, PaneChoice]:
        """Left: the local model; right: Claude, or without Claude the local model
        with thinking the other way round (with a models folder: its second model)."""
        local = self.settings.local.thinking
        keys = [side.key for side in self.router_sides] or [LOCAL]
        if self.claude_ready:
            right = PaneChoice(CLAUDE, self.settings.claude.thinking)
        elif len(keys) > 1:
            right = PaneChoice(keys[1], local)
        else:
            right = PaneChoice(keys[0], not local)
        return {"left": PaneChoice(keys[0], local), "right": right}

    def choices(self) -> list[PaneChoice]:
        """What a pane can switch to: local thinking on/off (each model of a models
        folder; one choice for a model whose header says it has no thinking switch, as
        both would send the same), the remote server, Claude (unless it is off:
        ``--no-claude``, ``claude.enabled = false``; without a key it is offered, and
        says what it needs)."""
        keys = [side.key for side in self.router_sides] or [LOCAL]
        out = []
        for key in keys:
            both = [PaneChoice(key, thinking) for thinking in (True, False)]
            if not self.header(both[0], "").thinking_switch:
                both = [PaneChoice(key, self.settings.local.thinking)]
            out += both
        if REMOTE in self.sides:
            out.append(PaneChoice(REMOTE, self.settings.local.thinking))
        if self.settings.claude.enabled:
            out.append(PaneChoice(CLAUDE, self.settings.claude.thinking))
        return out

    def request(self, choice: PaneChoice, prompt: str) -> GenerationRequest | None:
        """The request a run of ``choice`` would send for ``prompt`` (None: no such side)."""
        side = self.sides.get(choice.side)
        return side.request(choice, prompt) if side is not None else None

    def header(self, choice: PaneChoice, number: str) -> PaneHeader:
        side = self.sides.get(choice.side)
        if side is None:
            return PaneHeader(f"{number} {choice.side} · unavailable", "")
        return side.header(choice, number)

    def next_run_words(self, choice: PaneChoice) -> str:
        """What a run of ``choice`` would be, in a few words, for a pane that shows
        another run and for the notice of a key that chose it ("local · SmolLM2-135M
        (tiny stand-in), no thinking switch"; "claude · claude-opus-4-7, thinking high")."""
        header = self.header(choice, "0")
        think = f"thinking {self.thinking(choice)}" if header.thinking_switch else None
        side = self.sides.get(choice.side)
        if think is not None and side is not None and side.switch_ignored(choice):
            think += f" ({IGNORED_SWITCH_NOTE})"
        return f"{header.title.removeprefix('0 ')}, {think or 'no thinking switch'}"

    def thinking(self, choice: PaneChoice) -> str:
        """How a run of ``choice`` thinks, as its configuration names it after "thinking":
        "on", "off", Claude's effort or a served model's level ("high")."""
        side = self.sides.get(choice.side)
        return side.thinking(choice) if side is not None else on_off(choice.thinking)

    def sends_switch(self, choice: PaneChoice) -> bool:
        """Whether a run of ``choice`` is sent a thinking switch (:meth:`.Side.sends_switch`):
        not where its model is known to have none; a side not configured, as asked."""
        side = self.sides.get(choice.side)
        return side.sends_switch(choice) if side is not None else True

    def stored_ceiling(self, model_info: Mapping[str, Any]) -> float | None:
        """The decode ceiling a stored run's rate is measured against: that of the
        spawned local model it ran on (its ``model_info``: the same model file), else
        None (a server it was attached to, Claude, another model)."""
        for side in self._local_sides().values():
            if isinstance(side, LocalSide) and side.ran(model_info):
                return side.ceiling_tok_s
        return None

    def unavailable(self, choice: PaneChoice) -> str | None:
        """Why a pane with this choice cannot run at all (None: it can, or may)."""
        if is_local(choice.side) and self.local is None:
            return self.local_problem or "local model unavailable"
        side = self.sides.get(choice.side)
        if side is None:
            return f"{choice.side} is not configured"
        status = side.status()
        if not status.ready and not side.can_check:
            return status.message  # its hint: the side's status (a RunRefused carries it)
        return None

    def unavailable_hint(self, choice: PaneChoice) -> str | None:
        """What to do about :meth:`unavailable`, where the side says ("set
        ANTHROPIC_API_KEY and start pelican-tui again…"): its status's hint."""
        side = self.sides.get(choice.side)
        if side is None or self.unavailable(choice) is None:
            return None
        return side.status().hint

    def title(self, prompt: str, choices: Mapping[Slot, PaneChoice]) -> str:
        """A session's title: the prompt's start, what runs, and how it thinks, as its
        runs' configurations say it ("thinking on vs high": Claude's effort; "no switch vs
        thinking high" where a model has no thinking switch, whatever its pane asked:
        short, so a list that leaves out the middle of a title keeps it whole)."""
        from pelican_tui.backends.store.sessions import default_title

        picked = list(choices.values())
        sides = list(dict.fromkeys(c.side for c in picked))
        modes = list(
            dict.fromkeys(self.thinking(c) if self.sends_switch(c) else NO_SWITCH for c in picked)
        )
        parts = [default_title(prompt)]
        if len(sides) > 1:
            parts.append(" vs ".join(sides))
        if modes == [NO_SWITCH]:
            parts.append(NO_THINKING_SWITCH)
        elif NO_SWITCH in modes:
            said = (m if m == NO_SWITCH else f"thinking {m}" for m in modes)
            parts.append(" vs ".join(said))
        else:
            parts.append("thinking " + " vs ".join(modes))
        return " · ".join(parts)

    def shared_turn(self, choices: Mapping[Slot, PaneChoice]) -> str | None:
        """Why the chosen panes run one after the other ("one server", or "one
        machine" for two servers on it); None: they run together. May look a
        server's host name up."""
        sides = [s for c in choices.values() if (s := self.sides.get(c.side))]
        if len(sides) < 2 or len({s.turn_key for s in sides}) > 1:
            return None
        return "one server" if len({s.server_key for s in sides}) == 1 else "one machine"

    # -- resources, store, renderer --------------------------------------------------

    async def store(self) -> SessionStore:
        async with self._store_opening:
            if self._store is None:
                from pelican_tui.backends.store.sessions import SessionStore

                # A store that cannot be written to is still read (the gallery, the
                # leaderboard); a comparison then says it is not saved.
                self._store = await asyncio.to_thread(SessionStore.open, read_only_ok=True)
            return self._store

    def store_notices(self) -> list[str]:
        """What opening the store has to say (it was damaged, moved aside and made
        anew), once: the first caller after the open says it, to the user, and no
        other. [] before the store is open, and after."""
        if self._store is None or self._store_noticed:
            return []
        self._store_noticed = True
        return list(self._store.notices)

    def use_store(self, store: SessionStore) -> None:
        """Record into ``store``, which the caller opened (and closes)."""
        self._store = store
        self._own_store = False

    def renderer(self) -> SvgRenderer:
        if self._renderer is None:
            from pelican_tui.backends.svg.render import SvgRenderer

            self._renderer = SvgRenderer()
        return self._renderer

    def start_renderer(self) -> None:
        """Start the SVG renderer's worker now (blocks ~0.2 s: call it from a thread),
        so that no run pays for its start mid-stream. One that cannot start says why
        at its first render."""
        with contextlib.suppress(RuntimeError):
            self.renderer().start()

    def resource_sampler(self, maps_interval: int = 4) -> ResourceSampler:
        """A psutil sampler of this process and the local model server (spawned or attached)."""
        from pelican_tui.backends.resource_sampler import ResourceSampler

        def pid() -> int | None:
            local = self.local
            return local.server.pid if local is not None and local.server is not None else None

        def model() -> Any:
            return self.local.model_file if self.local is not None else None

        def url() -> str | None:  # an attached server: the process listening there, if local
            local = self.local
            return local.plan.url if local is not None and local.attached else None

        return ResourceSampler(
            server_pid=pid, model_path=model, maps_interval=maps_interval, server_url=url
        )

    async def sample_resources(
        self, on_sample: Callable[[ResourceSample], None], interval_s: float = 1.0
    ) -> None:
        """Sample memory for as long as the caller runs this (a status bar); the
        samples also feed the memory peaks of local runs."""
        sampler = self.resource_sampler()
        self._sampled_by_front_end = True
        try:
            async for sample in sampler.stream(interval_s):
                self._add_to_peaks(sample)
                on_sample(sample)
        finally:
            self._sampled_by_front_end = False

    def _add_to_peaks(self, sample: ResourceSample) -> None:
        """A sample counts for the memory peak of every local run streaming now."""
        for peak in list(self._peaks):
            peak.add(sample)

    async def _sample_once(self) -> None:
        """One sample into the memory peaks of the runs streaming now."""
        if self._once_sampler is None:
            self._once_sampler = self.resource_sampler(maps_interval=1)
        self._add_to_peaks(await asyncio.to_thread(self._once_sampler.sample))

    async def _sample_during_runs(self) -> None:
        sampler = self.resource_sampler(maps_interval=MAPS_EVERY_SAMPLES)
        while True:
            self._add_to_peaks(await asyncio.to_thread(sampler.sample))
            await asyncio.sleep(RAM_SAMPLE_EVERY_S)

    # -- the local server ------------------------------------------------------------

    async def start_local(self) -> BackendStatus:
        """Start the owned llama-server (or check the attached one); begin identifying
        the model at the same time. Raises :class:`ServerStartError` on failure."""
        await self.read_local_header()  # never spawn before the memory fit is known
        local = self.local
        if local is None:
            return BackendStatus(False, self.local_problem or "local model unavailable")
        if local.server is None:
            return await local.check()
        local.start_identifying()
        await local.server.start()
        await local.learn_from_server()
        local.start_identifying()
        return local.status()

    async def learn_from_local_server(self) -> None:
        """After the owned llama-server (re)started elsewhere (``R``): what the local side
        learns from it (:meth:`~.sides.LocalSide.learn_from_server`), before a header is drawn."""
        if self.local is not None:
            await self.local.learn_from_server()

    async def reconfigure_local(self, new: LocalSettings, say: Callable[[str], None]) -> None:
        """Stop the local server, apply ``new`` and rebuild the local side (not started)."""
        if self.local is not None and self.local.server is not None:
            await self.local.server.stop()
        for side in self.sides.values():
            if isinstance(side, LocalSide):
                side.forget_identity()
            await side.aclose()  # every side is rebuilt below
        self.settings = self.settings.model_copy(update={"local": new})
        self.plan, self.router = await asyncio.to_thread(plan_local_models, new)
        if self.prepared.binary is None and self.plan.mode == "spawn":
            from pelican_tui.backends.llama.prepare import setup

            self.prepared = await asyncio.to_thread(setup, self.settings, say)
        self._build_sides()

    # -- comparisons -----------------------------------------------------------------

    async def run_comparison(
        self,
        prompt: str,
        choices: Mapping[Slot, PaneChoice],
        listener: Listener,
        *,
        session_id: int | None = None,
        title: str | None = None,
        prompt_set: str | None = None,
        private: bool = False,
        batch_thinking: Mapping[str, Collection[bool]] | None = None,
    ) -> ComparisonResult:
        """Run each slot's choice on ``prompt`` and record them in one session.

        ``session_id``: add the runs to that session, if it is one of ``prompt`` (else
        they make a new one, as they do without it).
        ``listener`` gets :class:`SessionStarted`, :class:`RunRefused`,
        :class:`RefusalRecorded`, :class:`StoreProblem` and every run update
        (:mod:`.run`). A refused slot is recorded in the session as a run that failed
        before it was sent, when another slot runs (:meth:`_record_refused`); with none,
        no session is made. Cancelling
        the calling task cancels every run; each is recorded as cancelled.
        A new session records ``prompt_set`` (the set the prompt came from) and
        ``private`` (a private set's: exports leave its texts out).
        ``batch_thinking``: the thinking modes the batch this comparison is a step of
        asks of each side (by key), in any of its sessions: a side without a thinking
        switch asked for on and off there is said (:class:`SameRequest`) though this
        session holds one of the modes.
        """
        from pelican_tui.backends.engine.run import RunContext, RunResult, execute_run

        outcome = ComparisonResult(session_id)
        dropped = dict.fromkeys(choices, False)
        self._unbegun.append(dropped)
        try:
            specs = await self._specs(prompt, choices, listener, outcome, dropped)
        finally:
            self._unbegun.remove(dropped)
        specs = [spec for spec in specs if not dropped[spec.slot]]  # taken out at a check
        if not specs:
            return outcome

        store_problems: list[str] = []

        def store_problem(message: str, *, saved: bool = False) -> None:
            if message not in store_problems:
                store_problems.append(message)
                listener(StoreProblem(message, saved=saved))

        store: SessionStore | None = None
        try:
            store = await self.store()
            for notice in self.store_notices():  # about its open: once, not with every run
                store_problem(notice, saved=store.read_only is None)
            if session_id is not None:  # a session holds runs of one prompt: else a new one
                joined = await asyncio.to_thread(store.session_prompt, session_id)
                session_id = session_id if joined == prompt else None
            if session_id is None:
                title = title or self.title(prompt, choices)
                session = await asyncio.to_thread(
                    store.create_session,
                    prompt,
                    title=title,
                    prompt_set=prompt_set,
                    private=private,
                )
                session_id = session.id
        except Exception as error:  # runs go on; the user is told they are not saved
            store_problem(f"the session store failed ({error}); this comparison is not saved")
            store, session_id = None, None
        outcome.session_id = session_id
        if session_id is not None:
            listener(SessionStarted(session_id, prompt))
        for same in _same_requests(specs, session_id, batch_thinking or {}):
            listener(same)

        def track(update: Any) -> None:
            try:
                forward(update)
            except Exception as error:  # a drawing bug must not cost a run its record
                outcome.listener_errors.append(f"{type(error).__name__}: {error}")

        def forward(update: Any) -> None:
            # Per token: a RunProgress is kept once per run, as its accumulator is the
            # same object all run long (what checkpoint() saves from).
            if isinstance(update, RunProgress):
                entry = self._in_flight.get(update.slot)
                if entry is None or entry[1] is None:
                    self._in_flight[update.slot] = (entry[0] if entry else None, update)
            elif isinstance(update, RunStarted):
                self._in_flight[update.slot] = (update.run_id, None)
            elif isinstance(update, RunEnded):
                self._in_flight.pop(update.slot, None)
                if update.result.save_again is not None:
                    self._unsaved.append(update.result.save_again)
                if update.result.store_problem:
                    store_problem(update.result.store_problem)
            listener(update)

        host = await self._host_summary()
        renderer = self.renderer()
        for spec in specs:
            if not spec.side.knows_where:  # may look a server's host name up
                await asyncio.to_thread(spec.side.on_this_machine)
        tasks = [
            asyncio.create_task(
                execute_run(
                    spec,
                    RunContext(
                        store=store,
                        session_id=session_id,
                        host=host,
                        renderer=renderer,
                        listener=track,
                        turn=self._turns.setdefault(spec.side.turn_key, asyncio.Lock()),
                        turn_holder=self._turn_holder,
                        turn_sides=self._turn_sides,
                        peaks=self._peaks,
                        sample_now=self._sample_once,
                    ),
                ),
                name=spec.label,
            )
            for spec in specs
        ]
        for spec, task in zip(specs, tasks, strict=True):
            self._tasks.setdefault(spec.slot, []).append(task)
        recording: asyncio.Task[None] | None = None
        if store is not None and session_id is not None and outcome.refused:
            # Beside the runs, not before them: what a refused side asked for may take a
            # while to learn (a model file still being hashed); the runs need not wait.
            recording = asyncio.create_task(
                self._record_refused(
                    store, session_id, prompt, choices, outcome.refused, track, store_problem
                ),
                name="record the slots not run",
            )
        sampling: asyncio.Task[None] | None = None
        if not self._sampled_by_front_end and any(s.side.memory_sampled for s in specs):
            sampling = asyncio.create_task(self._sample_during_runs(), name="sample memory")
        try:
            done = await asyncio.gather(*tasks, return_exceptions=True)
            for spec, result in zip(specs, done, strict=True):
                if isinstance(result, RunResult):
                    outcome.results[spec.slot] = result
                elif isinstance(result, asyncio.CancelledError):
                    outcome.cancelled.append(spec.slot)  # by cancel(slot): recorded as such
                else:
                    raise result
            if recording is not None:  # after the runs, which did not wait for it
                await recording
        finally:
            # On a cancel (or a bug), the other runs are cancelled and given the
            # time to record themselves as cancelled.
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for spec, task in zip(specs, tasks, strict=True):
                with contextlib.suppress(ValueError):
                    self._tasks.get(spec.slot, []).remove(task)
            if sampling is not None:
                sampling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampling
            if recording is not None and not recording.done():  # cancelled: a row being
                recording.cancel()  # written is written whole (one thread), the rest not
                with contextlib.suppress(asyncio.CancelledError):
                    await recording
        for spec in specs:  # a server someone else runs may come back: it is asked anew
            if spec.side.server is not None:
                await spec.side.server.settle()
            status = spec.side.status()
            if spec.slot in outcome.results and not spec.side.can_check and not status.ready:
                outcome.lost[spec.slot] = status.message
        return outcome

    async def _specs(
        self,
        prompt: str,
        choices: Mapping[Slot, PaneChoice],
        listener: Listener,
        outcome: ComparisonResult,
        dropped: dict[Slot, bool],
    ) -> list[RunSpec]:
        """The runs of ``choices`` to begin, once their llama-server has started and the
        servers someone else runs have answered; those refused go in ``outcome`` (as the
        listener is told of each), those taken out meanwhile (``dropped``,
        :meth:`drop_unbegun`) are left out."""
        from pelican_tui.backends.engine.run import RunSpec

        if any(is_local(choice.side) for choice in choices.values()):
            await self.read_local_header()  # the session records the model's facts
        await self._until_started(prompt, choices, listener, dropped)
        specs: list[RunSpec] = []
        checked: dict[str, BackendStatus] = {}
        for slot, choice in choices.items():
            if dropped[slot]:
                continue
            side = self.sides.get(choice.side)
            refused = self.unavailable(choice)
            status = side.status() if side is not None else None
            if refused is None and side is not None and side.can_check:
                if choice.side not in checked:  # a server someone else runs: ask it now, once
                    checked[choice.side] = await _check(side, slot, listener)
                status = checked[choice.side]
            if refused is None and status is not None and not status.ready:
                refused = status.message
            if refused is not None or side is None:
                hint = status.hint if status is not None else None
                refusal = RunRefused(slot, refused or "unavailable", hint)
                outcome.refused[slot] = refusal
                listener(refusal)
                continue
            if isinstance(side, LocalSide):  # a server (re)started since: asked once
                await side.learn_from_server()
            specs.append(RunSpec.of_choice(slot, side, choice, prompt))
        return specs

    async def _record_refused(
        self,
        store: SessionStore,
        session_id: int,
        prompt: str,
        choices: Mapping[Slot, PaneChoice],
        refusals: Mapping[Slot, RunRefused],
        listener: Listener,
        store_problem: Callable[[str], None],
    ) -> None:
        """Record each slot refused before its request was sent as a run of the session
        that failed: what it asked for (its model and settings, as its run would have
        recorded them), no text, no numbers, and why ("not run: …", with the next step
        where its side gave one). The session then says the pane was asked for and why
        it has no picture, as the pane did; ``listener`` is told its run's id
        (:class:`RefusalRecorded`). What cannot be saved goes to ``store_problem``."""
        from pelican_tui.backends.store.records import SessionStoreError

        host = await self._host_summary()

        def record(slot: Slot, asked: _AskedFor, reason: str) -> int:
            # In one thread: a cancel meanwhile leaves no "running" row.
            run_id = store.start_run(session_id, slot, *asked, host)
            store.finish_run(run_id, status="failed", failure_reason=reason)
            return run_id

        for slot, refusal in refusals.items():
            reason = f"not run: {refusal.reason}"
            if refusal.hint:
                reason += f" — {refusal.hint}"
            try:
                asked = await self._asked_for(slot, choices[slot], prompt)
                run_id = await asyncio.to_thread(record, slot, asked, reason)
            except SessionStoreError as error:  # the runs go on; the user is told
                store_problem(str(error))  # it says what failed
            except Exception as error:  # a side that cannot say what it runs, a store bug
                store_problem(f"the {slot} pane's refusal is not saved: {error}")
            else:
                listener(RefusalRecorded(slot, run_id))

    async def _asked_for(self, slot: Slot, choice: PaneChoice, prompt: str) -> _AskedFor:
        """What a run of ``choice`` would record of itself: its backend, model id, model
        facts and settings; with no side to ask, what the settings name: a local model
        that cannot be read, or a remote no longer set (a pane's kept choice). Claude's
        side is always there."""
        from pelican_tui.backends.engine.run import RunSpec

        side = self.sides.get(choice.side)
        if side is not None:
            spec = RunSpec.of_choice(slot, side, choice, prompt)
            model_id, model_info = await side.identity(spec.request)
            return side.kind, model_id, model_info, spec.recorded_settings()
        local = is_local(choice.side)
        model_id = self.plan.label if local else choice.side
        kind = local_kind(self.plan) if local else "openai"
        return kind, model_id, {"model": model_id}, {"thinking": choice.thinking}

    def drop_unbegun(self, slot: Slot) -> bool:
        """Take ``slot`` out of the comparisons that have begun no run yet (they wait for
        a llama-server to load its model): their other slots run without it. Returns
        whether there was one."""
        found = [dropped for dropped in self._unbegun if dropped.get(slot) is False]
        for dropped in found:
            dropped[slot] = True
        self._wake_start_waiters()  # a wait for this slot alone ends now
        return bool(found)

    async def restart_server(self, server: ServerHandle) -> None:
        """Restart a llama-server of a side (``R``). A comparison begun meanwhile waits for
        it, as it waits while the model loads: it found the server stopping, or stopped
        between its stop and its start, and refused its runs."""
        self._restarting.add(server)
        try:
            await server.restart()
        finally:
            self._restarting.discard(server)
            self._wake_start_waiters()

    async def _until_started(
        self,
        prompt: str,
        choices: Mapping[Slot, PaneChoice],
        listener: Listener,
        dropped: Mapping[Slot, bool],
    ) -> None:
        """Wait while a llama-server of ``choices`` starts (``r`` pressed while its model
        loads): each pane on it says so (:class:`RunQueued`); the runs then go on, or are
        refused for what the start came to (a crash). Cancelled, or taken out meanwhile
        (``dropped``), each ends as a run that never started (nothing recorded)."""
        from pelican_tui.backends.engine.run import RunSpec, not_started

        waiting: dict[Slot, Side] = {}
        for slot, choice in choices.items():
            side = self.sides.get(choice.side)
            if side is not None and (starting := _starting(side, self._restarting)) is not None:
                waiting[slot] = side
                listener(RunQueued(slot, f"waiting for llama-server: {starting}"))
        if not waiting:
            return

        def end(slots: Iterable[Slot]) -> None:
            for slot in slots:
                side = waiting[slot]
                listener(not_started(RunSpec.of_choice(slot, side, choices[slot], prompt)))

        changed = asyncio.Event()  # made here: in the event loop that waits on it
        self._start_waiters.add(changed)
        try:
            while True:
                changed.clear()
                kept = [side for slot, side in waiting.items() if not dropped[slot]]
                if all(_starting(side, self._restarting) is None for side in kept):
                    break
                await changed.wait()
        except asyncio.CancelledError:
            end(waiting)
            raise
        finally:
            self._start_waiters.discard(changed)
        end(slot for slot in waiting if dropped[slot])

    def running(self, slot: Slot) -> bool:
        return any(not task.done() for task in self._tasks.get(slot, []))

    def waiting(self, slot: Slot) -> bool:
        """Whether ``slot`` runs but only waits for its turn on a server another run
        holds: nothing of it has started, so a cancel records nothing of it."""
        return self.running(slot) and slot not in self._turn_holder.values()

    def cancel(self, slot: Slot | None = None) -> bool:
        """Cancel the runs in ``slot`` (None: every run), those waiting for their turn
        too; each that started is recorded as cancelled. Returns whether any was live."""
        tasks = [t for s, each in self._tasks.items() if slot is None or s == slot for t in each]
        live = [task for task in tasks if not task.done()]
        for task in live:
            task.cancel()
        return bool(live)

    @property
    def unsaved_runs(self) -> int:
        """How many ended runs the store could not save whole (:meth:`checkpoint` tries)."""
        return len(self._unsaved)

    async def checkpoint(self) -> int:
        """Save what the store could not save of ended runs (a disk that was full), then
        the text of every run in flight now; returns how many runs in flight were saved.
        Raises the store's error if it still cannot save (what is left is kept)."""
        while self._unsaved:
            await asyncio.to_thread(self._unsaved[0])
            del self._unsaved[0]
        if self._store is None:
            return 0
        saved = 0
        for run_id, progress in list(self._in_flight.values()):
            if run_id is None or progress is None:
                continue
            acc = progress.acc
            await asyncio.to_thread(
                self._store.update_run_progress, run_id, acc.thinking_text, acc.answer_text
            )
            saved += 1
        return saved

    async def _host_summary(self) -> dict[str, Any]:
        if self._host is None:
            from pelican_tui.backends.host_info import host_summary

            self._host = await asyncio.to_thread(host_summary)
        return self._host

    async def close(self) -> None:
        """Stop llama-server, the renderer and the store, close the backends' HTTP
        clients (every exit path calls this)."""
        for side in self._local_sides().values():
            if isinstance(side, LocalSide):
                side.forget_identity()
        for side in {id(side): side for side in self.sides.values()}.values():
            with contextlib.suppress(Exception):  # closing must not stop the shutdown
                await side.aclose()
        local = self.local
        if local is not None and local.server is not None:
            await local.server.stop(grace_s=3.0)
        if self._renderer is not None:
            await asyncio.to_thread(self._renderer.close)
            self._renderer = None
        if self._store is not None and self._own_store:
            self._store.close()
        self._store = None
        self._store_noticed = False


def is_local(key: str) -> bool:
    """Whether a side key names a local model (``local``, or ``local:<name>`` of a folder)."""
    return key == LOCAL or key.startswith(LOCAL + ":")


def plan_local_models(
    local: LocalSettings, *, read_header: bool = True
) -> tuple[LocalPlan, RouterPlan | None]:
    """The local plan, and with ``local.models_dir`` (no ``url``) the router's plan; the
    local plan is then its first model's (or says why there is none)."""
    if not uses_models_folder(local):
        return plan_local(local, read_header=read_header), None
    from pelican_tui.backends.llama.router import plan_router

    router = plan_router(local, read_header=read_header)
    if not router.models:
        problem = router.problem or f"no GGUF model in {router.folder}"
        return LocalPlan(
            "spawn", router.folder.name, model_path=router.folder, info_error=problem
        ), router
    first = router.models[0].local_plan(local, router.available_bytes)
    return replace(first, header_pending=router.header_pending), router


def __getattr__(name: str) -> Any:
    """``PNG_SIZE`` and ``CHECKPOINT_EVERY_S`` of :mod:`.run`, imported when first asked for."""
    if name in ("PNG_SIZE", "CHECKPOINT_EVERY_S"):
        from pelican_tui.backends.engine import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _starting(side: Side, restarting: Collection[ServerHandle]) -> str | None:
    """What ``side``'s llama-server is doing while it starts ("loading model"), or
    "restarting" while one of ``restarting`` stops to start again; None when it is not
    starting (ready, stopped, crashed, or no server of its own)."""
    server = side.server
    if server is None:
        return None
    if server.status.state in STARTING_STATES:
        return server.status.message
    return "restarting" if server in restarting else None


def _same_requests(
    specs: list[RunSpec], session_id: int | None, batch: Mapping[str, Collection[bool]]
) -> list[SameRequest]:
    """Per side without a thinking switch, its runs asked for thinking on and off (in
    this session, or in the sessions of its ``batch``): the same request twice (see
    :class:`SameRequest`); so too a model that cannot turn thinking off asked for off
    and for its lowest level. Read after the sides' checks, which say whether a server
    someone else runs has a switch."""
    out: list[SameRequest] = []
    for side in dict.fromkeys(spec.side for spec in specs):
        runs = [spec for spec in specs if spec.side is side]
        asked = {spec.request.thinking for spec in runs} | set(batch.get(side.key, ()))
        slots = tuple(spec.slot for spec in runs)
        if len(asked) > 1 and not side.backend.capabilities.supports_thinking:
            out.append(SameRequest(session_id, slots, same_request_note(side.label)))
            continue
        offs = [spec for spec in runs if spec.off_note]
        if not offs:
            continue
        if any(off.request == on.request for off in offs for on in runs if not on.off_note):
            # thinking off on a model that cannot: its lowest level, which a pane also asked
            note = f"{side.no_off_note()}, so its runs asked for it and for thinking off "
            note += "send the same request: they compare two samples, not thinking"
            out.append(SameRequest(session_id, slots, note))
    return out


async def _check(side: Side, slot: Slot, listener: Listener) -> BackendStatus:
    """``side``'s check before ``slot`` runs on it; one that takes longer than
    :data:`SLOW_CHECK_S` is said (:class:`RunQueued`) while it goes on."""
    check = asyncio.ensure_future(side.check())
    try:
        done, _pending = await asyncio.wait({check}, timeout=SLOW_CHECK_S)
        if not done:
            listener(RunQueued(slot, f"waiting for the {side.label} server to answer its check"))
        return await check
    finally:
        check.cancel()  # cancelled meanwhile: the check goes too (done: nothing happens)


__all__ = [
    "CHECKPOINT_EVERY_S",
    "PNG_SIZE",
    "SLOTS",
    "ComparisonEngine",
    "ComparisonResult",
]
