"""The app around the engine: everything that draws with Streamlit and Plotly, in folders by role.

Each folder may import the engine (``adjoint_core``) and the folders below it, never one above:

    app_pages/  the pages (app.py routes to them)
    classroom/  lessons and rooms: what a class shares
    train/      the Train page's parts, one session's run and what it shows
    screen/     how a page is shown: URL state, presentation mode, the device, a chart on the page
    plots/      pure figure builders and the one chart style
    services/   process-wide: the training process and its client, the pace of live frames, memory

``streamlit_private.py`` holds every Streamlit API that is not public; any folder may import it.
tests/engine/test_engine_imports.py checks the order and that no folder imports in a circle.
"""
