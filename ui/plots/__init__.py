"""Pure figure builders: arrays in, Plotly figure dicts or go.Figures out, all in one style (``theme.py``): the
Train page's charts (``figures.py``), the Backward page's (``backward_figures.py``) and the teaching pages'
(``teaching.py``).  No Streamlit; imports the engine only."""
