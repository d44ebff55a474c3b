"""The Class page: the teacher of an open room sees every joined student's run live (roster.py's cards).

Once per UPDATE_EVERY seconds (a fragment) the page reads the class's cards once and builds, for the whole class,
two figures (every loss curve coloured by one setup field, and the latest loss against that field: the class's
sweep), drawn in place by a board element (ui/train/board.py's show_figures), and one grid of cards (name, what
differs from the teacher's setup, step, loss, ‖μ₀‖/‖μ_N‖, a sparkline, diverged). The teacher's controls: Pause the
class, Send my setup, Send a lesson, Hide names, Spotlight (one student's run on this page and to the room's
followers, for students on this server) and Close the class. In presentation mode (the projector) they fold into
"Teacher's controls", so that the join link and the class's charts fill the first screen.
"""

from __future__ import annotations

import html
import math

import streamlit as st

import adjoint_core as ac
from adjoint_core.datafile import DATA_TARGET

from ..plots import class_figures, describe
from ..screen import charts, present, urlstate
from ..train import board as live_board
from ..train import compare, session, settings
from . import follow, room_files, rooms, roster
from .lesson_book import LESSONS

ss = st.session_state
UPDATE_EVERY = 0.75  # seconds between the page's updates: at least one a second when a busy server delays some
SORTS = ("Joined", "Loss", "Name")
DEFAULT_FIELD = "lr"
CARDS_CSS = """<style>   /* over Streamlit's indent of lists and their items */
[data-testid="stHtml"] ul.abp-cards {display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr));
  gap: .6rem; padding: 0; margin: 0; list-style: none}
.abp-cards .abp-card {border: 1px solid #d5d9e0; border-radius: .5rem; margin: 0; padding: .5rem .7rem;
  line-height: 1.35}
.abp-card b {font-size: 1.05rem}
.abp-card .abp-diff {color: #5c5f6b; font-size: .9rem; min-height: 1.2rem}
.abp-card .abp-bad {color: #b3261e; font-weight: 600}
.abp-card img {display: block; margin-top: .2rem}
</style>"""


def _names(cards: list[roster.Card], hidden: bool) -> dict[str, str]:
    return {c.seat: f"Student {c.number}" if hidden else c.name for c in cards}


def _differences(cards: list[roster.Card], mine: dict[str, str]) -> dict[str, str]:
    """What each card's setup changes from the teacher's (``mine``): "lr 0.03, tanh", "" for none."""
    return {c.seat: compare.labels([mine, c.setup])[1] for c in cards}


def _fields(cards: list[roster.Card]) -> list[str]:
    """The choices of "Compare by": the setup fields the class differs in (the learning rate first), then the
    learning rate if it does not differ."""
    differ = [k for k in (cards[0].setup if cards else {}) if len({c.setup.get(k) for c in cards}) > 1]
    return sorted(set(differ) | {DEFAULT_FIELD}, key=lambda k: (k not in differ, k != DEFAULT_FIELD, differ.index(k)
                                                                if k in differ else 0))


def _log_scale(field: str) -> bool:
    """Whether the sidebar sets ``field`` on a log scale (a learning rate): the sweep's x axis is one then too."""
    f = ac.config.setup_fields().get(field)
    return f is not None and f.widget is not None and f.widget.kind == "log"


def class_curves(cards: list[roster.Card], names: dict[str, str], field: str) -> list[class_figures.Curve]:
    """The class charts' lines: each card's loss history and latest loss, under its name and value of ``field``."""
    return [class_figures.Curve(names[c.seat], c.setup.get(field, ""), c.spark_step, c.spark_loss, c.loss,
                                c.diverged) for c in cards]


def _card(card: roster.Card, name: str, diff: str) -> str:
    """One card's HTML, every text escaped."""
    state = ('<span class="abp-bad">diverged</span>' if card.diverged
             else "playing" if card.playing else "paused")
    return (f'<li class="abp-card"><b>{html.escape(name)}</b> · {state}'
            f'<div class="abp-diff">{html.escape(diff) or "your setup"}</div>'
            f"step {card.step:,} · loss {describe.number(card.loss)} · ‖μ₀‖/‖μ_N‖ {describe.number(card.mu_ratio)}"
            f"{class_figures.sparkline(card.spark_step, card.spark_loss, name)}</li>")


def _sorted(cards: list[roster.Card], by: str, names: dict[str, str]) -> list[roster.Card]:
    if by == "Loss":   # lowest first; diverged and not yet known last
        return sorted(cards, key=lambda c: (c.diverged or not math.isfinite(c.loss), c.loss))
    if by == "Name":
        return sorted(cards, key=lambda c: names[c.seat].lower())
    return cards


def _send_setup() -> None:
    run = session.get_run()
    preset = ss.get(settings.W + "preset")
    params = urlstate.config_to_params(preset or "", run.config, run.seed)
    if not preset:
        del params[urlstate.PRESET_PARAM]
    ss["room"].klass.order(params=params)
    st.toast(f"Sent your setup ({run.config.label}) to the class.", icon=":material/send:")


def _send_lesson() -> None:
    lesson = LESSONS[ss["class_lesson"]]
    ss["room"].klass.order(params={urlstate.LESSON_PARAM: lesson.id})
    st.toast(f"Sent the lesson “{lesson.title}” to the class.", icon=":material/send:")


def _pause() -> None:
    ss["room"].klass.order(pause=True)
    st.toast("Paused the class: every student's Play stops within a few seconds.", icon=":material/pause_circle:")


def _close() -> None:
    rooms.close_room(ss.pop("room"), "the teacher closed the class")


def _controls(room: rooms.Room, cards: list[roster.Card], names: dict[str, str]) -> tuple[str, str]:
    """The teacher's controls in two rows; returns the field the charts compare by and the cards' order."""
    orders = room.orders
    cols = st.columns([1, 1, 1.6, 0.6, 1], vertical_alignment="bottom")
    cols[0].button("Pause the class", on_click=_pause, key="btn_pause_class", width="stretch",
                   help="Every joined student's Play stops; they are told why, and can press Play again.")
    cols[1].button("Send my setup", on_click=_send_setup, key="btn_send_setup", width="stretch",
                   disabled=session.get_run().config.target == DATA_TARGET,
                   help="Every joined student's Train page opens your current setup, from step 0 (not a setup on "
                        "your own uploaded data: its data stays with you).")
    cols[2].selectbox("Lesson", list(LESSONS), key="class_lesson",
                      format_func=lambda i: LESSONS[i].title + (" (class)" if LESSONS[i].sweep else ""))
    cols[3].button("Send", on_click=_send_lesson, key="btn_send_lesson", width="stretch",
                   help="Every joined student opens this lesson; a class lesson gives each student their own value.")
    cols[4].button("Close the class", on_click=_close, key="btn_close_class", width="stretch",
                   help="Ends the class and the room: students are told and keep their runs.")
    cols = st.columns([1, 1.5, 1, 1.3], vertical_alignment="bottom")   # the three sorts fit at 1280 px
    cols[0].toggle("Hide names", value=orders.hide_names, key="class_hide_names",
                   on_change=lambda: room.klass.order(hide_names=ss["class_hide_names"]),
                   help="Students show as Student 1, 2, ...: for the projector.")
    here = [c.seat for c in cards if c.seat in room.seats]
    options = [""] + here
    if orders.spotlight not in options:
        options.append(orders.spotlight)
    cols[1].selectbox("Spotlight", options, index=options.index(orders.spotlight or ""), key="class_spotlight",
                      format_func=lambda s: names.get(s, "a student who left") if s else "Nobody: your own run",
                      on_change=lambda: room.klass.order(spotlight=ss["class_spotlight"] or None),
                      help="Show one student's run live below and to the room's followers (students on this "
                           f"server: {len(here)} of {len(cards)}).")
    field = cols[2].selectbox("Compare by", _fields(cards), key="class_field",
                              help="The setup field the class charts group and plot by.")
    by = cols[3].segmented_control("Sort cards by", SORTS, default="Joined", key="class_sort") or "Joined"
    return field, by


def _live() -> None:
    """The class as it is now: controls, the two class charts, the spotlit run and the cards."""
    room = ss.get("room")
    if room is None:   # closed: the Class page leaves the navigation
        st.switch_page("app_pages/train.py")
    cards = room.cards()
    orders = room.orders
    names = _names(cards, orders.hide_names)
    st.markdown(f"**{len(cards)}** student{'s' if len(cards) != 1 else ''} in class "
                f"({sum(c.playing for c in cards)} playing, {sum(c.diverged for c in cards)} diverged).")
    with st.expander("Teacher's controls", icon=":material/tune:") if present.active() else st.container():
        field, by = _controls(room, cards, names)
    curves = class_curves(cards, names, field)
    figs = {"class_losses": class_figures.losses(curves, field),
            "class_sweep": class_figures.sweep(curves, field, log_x=_log_scale(field))}
    live_board.show_figures(figs, key="class_board")
    for (key, fig), where in zip(figs.items(), st.columns(2)):
        charts.data_table(fig, key, where)
    if orders.spotlight in room.seats:   # drawn as the room's followers draw it (room_files.py)
        st.subheader(f"Spotlight: {roster.as_markdown(names.get(orders.spotlight, 'a student'))}")
        live_board.follow(room_files.follow(room.code), key="spot_board")
    else:
        room_files.unfollow()
    differences = _differences(cards, roster.setup_of(session.get_run()))
    st.html(CARDS_CSS + '<ul class="abp-cards" aria-label="Students">'
            + "".join(_card(c, names[c.seat], differences[c.seat]) for c in _sorted(cards, by, names)) + "</ul>")


def page() -> None:
    """The Class page of this session's room."""
    room = ss.get("room")
    if room is None:
        st.title("Class")
        st.info("Open a room on the Train page (*Share live with the class*): students who join it appear here.",
                icon=":material/groups:")
        return
    st.title(f"Class {room.code}")
    st.markdown(f"Students join at `{follow.room_link(room.code, urlstate.JOIN_PARAM)}` or with the code "
                f"**{room.code}** under *Join a class*; each trains their own run.")
    st.fragment(_live, run_every=UPDATE_EVERY)()
