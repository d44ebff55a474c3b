"""The lessons of ui/classroom/lessons.toml, read and checked once: each a setup, its text, a question and its promises.

Pure apart from the Speed choices' names (ui/train/session.py). A broken lesson file raises LessonError when this
module is imported, naming the lesson and the field: the file is part of the app, so a mistake in it must stop
the tests, not show a half lesson.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import adjoint_core as ac

from ..screen.urlstate import CONTROLS
from ..train.session import DEMO, SPEEDS

FILE = Path(__file__).with_name("lessons.toml")
PAGES = {"backward": ("app_pages/backward.py", "Backward pass"),   # a lesson's `pages`: file and title
         "gradcheck": ("app_pages/gradcheck.py", "Gradient check"),
         "theory": ("app_pages/theory.py", "Theory")}
ID_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
TEXTS = ("title", "goal", "watch", "question", "explanation")
SWEEPS = ("lr", "seed")   # the fields a class lesson may give each student a value of


class LessonError(ValueError):
    """A lesson in the lesson file is malformed."""


@dataclass(frozen=True)
class Lesson:
    """One lesson: the run it sets up, what the panel says, and what tests check on that run."""

    id: str
    title: str
    preset: str
    config: ac.RunConfig
    seed: int
    hide: tuple[str, ...]          # control names (urlstate.CONTROLS)
    speed: str                     # Play's speed when the lesson opens (a key of session.SPEEDS; Demo)
    pages: tuple[str, ...]         # keys of PAGES
    goal: str
    watch: str
    question: str
    choices: tuple[str, ...]
    answer: int                    # index into choices
    explanation: str
    checks: tuple[dict[str, Any], ...]   # read by tests/app/test_lesson_promises.py
    sweep: str | None = None       # a class lesson: the field ("lr" or "seed") each student gets a value of
    values: tuple[float, ...] = ()  # ... from these, by the student's number in the class

    def setup(self, number: int | None = None) -> tuple[ac.RunConfig, int]:
        """The lesson's setup and seed; in a class lesson, student ``number``'s (1, 2, ...: the values in turn)."""
        if self.sweep is None or number is None:
            return self.config, self.seed
        value = self.values[(number - 1) % len(self.values)]
        if self.sweep == "seed":
            return self.config, int(value)
        return self.config.replace(**{self.sweep: value}), self.seed


def _lesson(raw: dict[str, Any]) -> Lesson:
    """One [[lesson]] table -> Lesson; LessonError names what is wrong."""
    name = str(raw.get("id", "?"))[:40]

    def fail(problem: str) -> LessonError:
        return LessonError(f"lesson {name!r} in {FILE.name}: {problem}")

    unknown = set(raw) - {"id", "preset", "setup", "seed", "hide", "speed", "pages", "choices", "answer", "check",
                          "sweep", "values", *TEXTS}
    if unknown:
        raise fail(f"unknown field(s) {', '.join(sorted(unknown))}")
    if not isinstance(raw.get("id"), str) or not ID_PATTERN.fullmatch(raw["id"]):
        raise fail("id must be lowercase letters, digits and dashes")
    for key in TEXTS:
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise fail(f"{key} must be text")
    if raw.get("preset") not in ac.presets:
        raise fail(f"unknown preset {raw.get('preset')!r}")
    try:
        config = ac.RunConfig.from_mapping(raw.get("setup", {}), base=ac.presets[raw["preset"]])
    except ac.ConfigError as e:
        raise fail(f"setup: {e}") from None
    hide, pages, choices = raw.get("hide", []), raw.get("pages", []), raw.get("choices")
    if not isinstance(hide, list) or any(h not in CONTROLS for h in hide):
        raise fail(f"hide must list control names from: {', '.join(CONTROLS)}")
    if not isinstance(pages, list) or any(p not in PAGES for p in pages):
        raise fail(f"pages must list page names from: {', '.join(PAGES)}")
    if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) for c in choices):
        raise fail("choices must be a list of at least two texts")
    speed = raw.get("speed", DEMO)
    if speed not in SPEEDS:
        raise fail(f"speed must be one of: {', '.join(SPEEDS)}")
    answer, seed = raw.get("answer"), raw.get("seed", 0)
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise fail("answer must be the index of one of the choices")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= ac.limits.MAX_SEED:
        raise fail("seed must be a whole number")
    checks = raw.get("check", [])
    if not checks or not all(isinstance(c, dict) and isinstance(c.get("measure"), str) for c in checks):
        raise fail("needs at least one [[lesson.check]] with a measure")
    sweep, values = raw.get("sweep"), raw.get("values", [])
    if sweep is not None:
        if sweep not in SWEEPS or not isinstance(values, list) or len(values) < 2:
            raise fail(f"sweep must be one of {', '.join(SWEEPS)} with at least two values")
        try:
            for v in values:
                ac.limits.check_seed(v) if sweep == "seed" else config.replace(**{sweep: v})
        except ac.ConfigError as e:
            raise fail(f"values: {e}") from None
    return Lesson(id=raw["id"], title=raw["title"], preset=raw["preset"], config=config, seed=seed,
                  hide=tuple(c for c in CONTROLS if c in hide), speed=speed, pages=tuple(pages),
                  goal=raw["goal"], watch=raw["watch"], question=raw["question"], choices=tuple(choices), answer=answer,
                  explanation=raw["explanation"], checks=tuple(checks),
                  sweep=sweep, values=tuple(values))


def load(path: Path = FILE) -> dict[str, Lesson]:
    """Lesson id -> Lesson, in the file's order."""
    with open(path, "rb") as f:
        tables = tomllib.load(f).get("lesson", [])
    lessons: dict[str, Lesson] = {}
    for raw in tables:
        lesson = _lesson(raw)
        if lesson.id in lessons:
            raise LessonError(f"lesson {lesson.id!r} in {path.name}: the id is used twice")
        lessons[lesson.id] = lesson
    return lessons


LESSONS = load()
