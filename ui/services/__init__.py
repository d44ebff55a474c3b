"""Process-wide services shared by every session of the server: the training process (``training_process.py``)
and its client in the server (``worker.py``), the pace of live frames (``pace.py``) and memory: the
allocator, its release and the memory budget (``memory.py``).  Imports the engine and ``streamlit_private`` only
(the training process imports neither Streamlit nor it)."""
