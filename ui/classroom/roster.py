"""A class: students who join a teacher's room each train their own run, and the teacher sees them all.

A joined student's page posts a ``Card`` of its run about once per CARD_EVERY seconds: the numbers the Class page
shows (step, loss, ‖μ₀‖/‖μ_N‖, diverged) and the loss history thinned to SPARK_POINTS, with the run's setup as
text (what the page says differs from the room's). Nothing else of the run leaves the student's session: no
data, no weights. The room's ``Class`` keeps each seat's latest card while the seat's page is connected (a closed
tab leaves at once; a hidden one, whose timers the browser slows, stays); a card from another replica (Redis)
counts while it is at most GONE_AFTER seconds old, renewed by that replica while its student is connected.

The teacher's ``Orders`` travel the other way and are read by each student's page when it posts: how many times
the class was paused, the setup or lesson last sent, the student spotlit, whether names are hidden.

Pure apart from the clock: no Streamlit, no Redis (room_bus.py carries cards and orders between replicas).
"""

from __future__ import annotations

import json
import math
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

import adjoint_core as ac

from ..plots.figures import decimate
from ..screen import urlstate

CARD_EVERY = 1.0     # seconds between a student's cards
GONE_AFTER = 6.0     # seconds a card from another replica counts without being renewed
SPARK_POINTS = 60    # points of a card's loss history
MAX_CARD = 16 * 1024  # bytes of a card's JSON
clock = time.time    # cards carry wall-clock times (replicas compare them; a test sets its own)


def as_markdown(text: str) -> str:
    """Plain text (a nickname, a label with one) for st.markdown: every ASCII punctuation character escaped, so
    it shows as typed, never as markdown, HTML, a link or an icon."""
    return "".join("\\" + c if c in _PUNCTUATION else c for c in text)


_PUNCTUATION = set(string.punctuation)


def full() -> str:
    """Why a student cannot join a full class."""
    return (f"the class is full ({ac.limits.MAX_CLASS} students): you can follow the teacher's run instead, with "
            "the same code under *Follow a room*")


@dataclass(frozen=True)
class Card:
    """One student's run as the Class page shows it. ``setup``: the run's setup as URL text (urlstate)."""

    seat: str                        # the seat's id (random, never shown)
    number: int                      # the seat's number in the class: "Student 7"
    nickname: str                    # "" when none was chosen
    setup: dict[str, str]
    step: int
    loss: float                      # the status's "Train loss": the mean of the last epoch's steps (NaN before one)
    spark_step: tuple[float, ...]    # the loss history, at most SPARK_POINTS points
    spark_loss: tuple[float, ...]
    mu_ratio: float                  # ‖μ₀‖ / ‖μ_N‖ at the last step (NaN before a step)
    diverged: bool
    playing: bool
    at: float                        # clock() when it was posted

    @property
    def name(self) -> str:
        return self.nickname or f"Student {self.number}"

    def to_json(self) -> str:
        return json.dumps({k: (v if not isinstance(v, float) or math.isfinite(v) else None)
                           for k, v in asdict(self).items()}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Card:
        """A card as ``to_json`` wrote it, checked field by field; ValueError otherwise (a card from Redis is
        not trusted)."""
        if len(text) > MAX_CARD:
            raise ValueError(f"a card of {len(text)} bytes")
        raw = json.loads(text)
        if not isinstance(raw, dict) or set(raw) != set(cls.__dataclass_fields__):
            raise ValueError("card fields")

        def number(v: Any) -> float:
            if v is None:
                return math.nan
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError("card number")
            return float(v)

        spark = [tuple(number(v) for v in raw[k]) if isinstance(raw[k], list) else None
                 for k in ("spark_step", "spark_loss")]
        setup = raw["setup"]
        if (not isinstance(raw["seat"], str) or len(raw["seat"]) > 64 or type(raw["number"]) is not int
                or not isinstance(setup, dict) or not all(isinstance(v, str) for v in setup.values())
                or None in spark or len(spark[0]) != len(spark[1]) or len(spark[0]) > SPARK_POINTS
                or type(raw["step"]) is not int or not all(isinstance(raw[k], bool) for k in ("diverged", "playing"))):
            raise ValueError("card values")
        try:
            nickname = ac.limits.check_nickname(raw["nickname"])
        except ac.ConfigError as e:
            raise ValueError(str(e)) from None
        return cls(raw["seat"], raw["number"], nickname, setup, raw["step"], number(raw["loss"]), spark[0],
                   spark[1], number(raw["mu_ratio"]), raw["diverged"], raw["playing"], number(raw["at"]))


def setup_of(run: ac.TrainingRun) -> dict[str, str]:
    """The run's setup fields and seed as URL text (the preset name left out)."""
    params = urlstate.config_to_params("", run.config, run.seed)
    del params[urlstate.PRESET_PARAM]
    return params


def card_of(run: ac.TrainingRun, seat: str, number: int, nickname: str, playing: bool) -> Card:
    """The card of a student's run as it is now."""
    history = run.history
    step, loss = history.step, history.loss
    sel = decimate(len(step), SPARK_POINTS)
    trend = ac.summaries.loss_trend(step, loss, np.empty(0), run.steps_per_epoch)
    ratio = float(history.mu_ratio[-1]) if len(step) else math.nan
    return Card(seat, number, nickname, setup_of(run), run.step_count, trend.loss,
                tuple(map(float, step[sel])), tuple(map(float, loss[sel])), ratio, run.diverged is not None,
                playing, clock())


@dataclass(frozen=True)
class Orders:
    """What the teacher has told the class. A student's page acts on ``pause`` and ``sent`` once each: it keeps
    the last ``pause`` count and ``sent`` number it acted on."""

    pause: int = 0                               # how many times the class was paused
    sent: int = 0                                # how many setups or lessons were sent
    params: dict[str, str] = field(default_factory=dict)   # the last one sent, as Train page URL parameters
    spotlight: str | None = None                 # the seat shown to the class
    hide_names: bool = False
    size: int = 0                                # students in the class (a joining student is told when it is full)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any) -> Orders:
        """Orders as ``to_json`` made them, checked; ValueError otherwise."""
        if not isinstance(raw, dict) or set(raw) != set(cls.__dataclass_fields__):
            raise ValueError("orders fields")
        params, spot = raw["params"], raw["spotlight"]
        if not (all(type(raw[k]) is int for k in ("pause", "sent", "size")) and isinstance(raw["hide_names"], bool)
                and isinstance(params, dict) and len(params) <= 64
                and all(isinstance(k, str) and isinstance(v, str) and len(v) <= ac.limits.MAX_TEXT
                        for k, v in params.items())
                and (spot is None or (isinstance(spot, str) and len(spot) <= 64))):
            raise ValueError("orders values")
        return cls(**raw)


class Class:
    """A room's class: its seats (students of this replica, each with a check of whether its page is still
    connected), their latest cards, and the teacher's orders. Thread-safe (students' pages post from their own
    script threads)."""

    def __init__(self) -> None:
        self._seats: dict[str, Callable[[], bool]] = {}   # seat -> whether its page is still connected
        self._cards: dict[str, Card] = {}
        self._numbers = 0
        self.orders = Orders()
        self._lock = threading.Lock()

    def _sweep(self) -> None:
        """Forget the seats whose page has gone (a closed tab); holds _lock."""
        for seat in [s for s, connected in self._seats.items() if not connected()]:
            del self._seats[seat]
            self._cards.pop(seat, None)

    def join(self, seat: str, connected: Callable[[], bool], others: int = 0, number: int | None = None) -> int | None:
        """Seat a student: its number (``number`` when it has one already, or from the class's counter in Redis,
        else 1, 2, ... here), or None when the class already has MAX_CLASS students (``others``: those on other
        replicas)."""
        with self._lock:
            self._sweep()
            if seat not in self._seats and len(self._seats) + others >= ac.limits.MAX_CLASS:
                return None
            if number is None:
                number = self._numbers + 1
            self._numbers = max(self._numbers, number)
            self._seats[seat] = connected
            return number

    def post(self, card: Card) -> bool:
        """Take a seat's latest card; False when the seat is not (or no longer) in the class."""
        with self._lock:
            if card.seat not in self._seats:
                return False
            self._cards[card.seat] = card
            return True

    def leave(self, seat: str) -> None:
        with self._lock:
            self._seats.pop(seat, None)
            self._cards.pop(seat, None)

    def cards(self, remote: Iterable[Card] = ()) -> list[Card]:
        """The class's cards, of this replica's connected seats and ``remote`` ones (other replicas', through
        Redis) not older than GONE_AFTER, in the order the students joined."""
        now = clock()
        with self._lock:
            self._sweep()
            mine = list(self._cards.values())
        seen = {c.seat for c in mine}
        fresh = mine + [c for c in remote if c.seat not in seen and now - c.at <= GONE_AFTER]
        return sorted(fresh, key=lambda c: c.number)

    def order(self, **changes: Any) -> Orders:
        """Change the orders (``pause=True`` counts one more pause; ``params=`` sends them); returns them."""
        with self._lock:
            if changes.pop("pause", False):
                changes["pause"] = self.orders.pause + 1
            if "params" in changes:
                changes["sent"] = self.orders.sent + 1
            self.orders = replace(self.orders, **changes)
            return self.orders
