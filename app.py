"""SCGRU Pruning Lab: the Streamlit entry point (`streamlit run app.py`).

It runs on every rerun and frames every page: page config, the one-time process warm-up,
the built-in sample on a session's first visit, the page list and the sidebar status.
"""
import streamlit as st

from lab_ui import state

st.set_page_config(page_title="SCGRU Pruning Lab", page_icon=":material/content_cut:", layout="wide")
state.warm_up()
st.html(state.CSS)
state.keep_widget_values()
state.recover_interrupted_job()
state.ensure_dataset()

page = st.navigation({
    "SCGRU Pruning Lab": [
        st.Page(state.HOME, title="Home", icon=":material/home:", default=True),
        st.Page(state.DATA_PAGE, title="Data", icon=":material/table_chart:", url_path="data"),
        st.Page(state.TRAIN_PAGE, title="Train", icon=":material/model_training:", url_path="train"),
        st.Page(state.PRUNE_PAGE, title="Prune", icon=":material/content_cut:", url_path="prune"),
        st.Page(state.TRADEOFFS_PAGE, title="Trade-offs", icon=":material/query_stats:", url_path="tradeoffs"),
    ]
})
status = st.sidebar.container()  # filled after the page, so it shows what the page just did
page.run()
with status:
    state.sidebar_status()
