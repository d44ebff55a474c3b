"""How a page is shown: the URL's state (``urlstate.py``, pure), presentation mode (``present.py``), the device
(``device.py``) and a chart drawn on the page for that screen (``charts.py``).  Imports plots/ and the engine."""
