"""Process-wide services shared by every session of the server: the training process (``training_process.py``)
and its client in the server (``worker.py``), the pace of live frames (``pace.py``) and memory release
(``memory.py``).  Imports the engine only."""
