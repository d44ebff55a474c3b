"""Train: the playground. Pick a setup in the sidebar, then Step, Epoch or Play and watch mu flow."""

import streamlit as st

import adjoint_core as ac
from ui.classroom import follow, join, lessons
from ui.screen import a11y, present, urlstate
from ui.services import pace
from ui.train import chart_groups, code_export, compare, export, live, replay, session, settings

ss = st.session_state
ss.setdefault("playing", False)

if present.active() and lessons.linked_or_open():   # on a projector the lesson's panel names the page
    st.html(present.BELOW_HEADER)
else:
    st.title("Train")
present.intro("Train a small network by gradient descent and watch the **adjoints** μᵢ = −∂L/∂zᵢ flow backward "
              "through its layers. Every step runs one forward pass, computes μ_N from the loss, and sweeps it "
              "back to μ₀ with one vector-Jacobian product per layer.")

if urlstate.FOLLOW_PARAM in st.query_params and follow.follower_view(st.query_params[urlstate.FOLLOW_PARAM]):
    st.stop()   # a follower's page: the teacher's run, nothing of its own

# One-off messages (a share link's ignored parameters, a new run started) are shown by the controls fragment,
# so the next click there clears them; an error stays until the sidebar input is fixed (a full run).
ss["_messages"] = [("warning", w, ":material/link_off:") for w in join.from_url() + lessons.from_url()
                   + settings.init_from_url(ss.get(session.RUN_KEY), session.DEFAULT_PRESET)]
choice = settings.sidebar()
if choice.error:
    st.error(f"{choice.error}. The current run is kept.", icon=":material/error:")
else:
    try:
        notice = session.apply_choice(choice.config, choice.seed, choice.data)
    except ac.ConfigError as e:
        st.error(f"{session.message(e)}. The current run is kept.", icon=":material/error:")
    else:
        settings.sync_url(choice.config, choice.seed,
                          {**lessons.url_params(), **present.url_params(), **join.url_params()})
        if notice:
            ss["_messages"].append(("info", notice, ":material/restart_alt:"))
follow.share_panel()
if "room" not in ss:
    join.join_panel()
caption = settings.setup_caption(ss.get(settings.W + "preset"), session.get_run())
if caption and lessons.current() is None:   # a lesson says what it shows
    st.caption(caption)
join.bar()
lessons.panel()


def live_view() -> None:
    """Status and charts; while playing, a frame of the training process's latest state."""
    run = session.get_run()
    trainer = session.trainer()
    if trainer is not None:
        trainer.sync()
        if not trainer.alive:
            if trainer.finished == "idle":   # back from another page or a hidden tab: carry on
                session.play()
                if not ss.playing:           # no room on the server: the paused page says so
                    st.rerun()
            else:                            # epoch limit or divergence: show the paused page
                session.stopped_at_limit() if trainer.finished == "limit" else session.pause()
                st.rerun()
    follow.attach(run)
    join.tick(run)
    with pace.turn() as drawn:
        if not drawn:   # a click waits for this run: its own run draws the page
            return
        if ss.playing:
            live.board(run)
        else:
            live.status(run)
            tools = st.columns([2, 2.5, 4.5], vertical_alignment="bottom")   # keep, download, replay
            compare.keep_button(run, tools[0])
            export.download_button(run, tools[1])
            code_export.buttons(run, tools[1])
            compare.view(run)
            live.charts(replay.view(run, tools[2], chart_groups.all_figures(run)))


def live_frames() -> None:
    """While playing: the live view again every TICK seconds, or slower when many sessions watch
    (ui/services/pace.py). A browser sends a click's trigger with whichever rerun it sends next, often this
    fragment's timer tick before the click's own rerun of the controls: a tick that finds the run paused (Pause,
    Reset) leaves the board as it stands, and the controls' rerun that follows draws the paused page once."""
    if not ss.playing:
        live.held_board()
        return
    every = pace.keep_pace(live.TICK, pace.STUDENT_FRAME, first="room" in ss)
    trainer = session.trainer()
    if trainer is not None:
        trainer.watched_every(every)   # however far apart the pace sets the frames, the run waits for the next
    live_view()


@st.fragment
def controls() -> None:
    """The buttons and the live view. A click reruns only this part of the page (not the sidebar): Play's
    first frame comes sooner. While playing, the live view is a nested fragment that redraws itself at the
    server's pace (ui/services/pace.py); Pause drops it, which stops its timer. Paused, the view sits in a container in
    the nested fragment's place, so the paused elements replace the live board."""
    for kind, text, icon in ss.pop("_messages", []):
        getattr(st, kind)(text, icon=icon)
    if session.FULL_KEY in ss:
        st.warning(ss.pop(session.FULL_KEY), icon=":material/memory:")
    run = session.get_run()
    note = session.limit_note(run)
    if note:
        st.info(note, icon=":material/flag:")
    playing = ss.playing
    if not present.active():   # the shortcuts' keys shown on the buttons for a projector, else in their help
        a11y.hide_badges("btn_step", "btn_play")
    cols = st.columns([1, 1, 1, 1, 3], vertical_alignment="bottom")
    cols[0].button("Step", on_click=session.step, disabled=playing, width="stretch", key="btn_step",
                   shortcut="Right", help="One mini-batch: forward, loss, the μ recursion, one update. Shortcut: →.")
    cols[1].button("Epoch", on_click=session.epoch, disabled=playing, width="stretch", key="btn_epoch",
                   help=f"{run.steps_per_epoch} steps: one pass over the training data.")
    cols[2].button("Pause" if playing else "Play", on_click=session.set_playing, args=(not playing,),
                   type="primary", width="stretch", key="btn_play", shortcut="Space",
                   help="Train continuously, redrawing several times a second. Shortcut: Space.")
    cols[3].button("Reset", on_click=session.reset, width="stretch", key="btn_reset",
                   help="Start this setup again from step 0 (same seed, same initial weights).")
    ss.setdefault(session.SPEED, "Max")
    cols[4].select_slider("Speed", list(session.SPEEDS), key=session.SPEED, persist_state="session",
                          on_change=session.set_speed,
                          help="Training steps per second while playing; slow speeds let you watch single steps, "
                               "and Demo plays the whole run up to its epoch limit in about 20 s.")
    if playing:
        st.fragment(live_frames, run_every=pace.interval(live.TICK, pace.STUDENT_FRAME, first="room" in ss))()
    else:
        live.new_board()   # the next Play starts a new board
        a11y.announce(live.status_sentence(run, ss.get("trainer"), note is not None))
        with st.container():
            live_view()


live.new_board()
controls()
