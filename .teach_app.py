import streamlit as st

from lab_ui import state, teaching

st.set_page_config(page_title="SCGRU Pruning Lab", page_icon=":material/content_cut:", layout="wide")
state.warm_up()
st.html(state.CSS)
state.keep_widget_values()
state.recover_interrupted_job()
teaching.start_session()
state.ensure_dataset()

page = st.navigation({
    "SCGRU Pruning Lab": [
        st.Page(state.HOME, title="Home", icon=":material/home:", default=True),
        st.Page(teaching.LESSON_PAGE, title="Lesson", icon=":material/school:", url_path="lesson"),
        st.Page(state.DATA_PAGE, title="Data", icon=":material/table_chart:", url_path="data"),
        st.Page(state.TRAIN_PAGE, title="Train", icon=":material/model_training:", url_path="train"),
        st.Page(state.PRUNE_PAGE, title="Prune", icon=":material/content_cut:", url_path="prune"),
        st.Page(state.TRADEOFFS_PAGE, title="Trade-offs", icon=":material/query_stats:", url_path="tradeoffs"),
    ]
})
status = st.sidebar.container()
teaching.complete_pending()
page.run()
with status:
    state.sidebar_status()
with st.sidebar:
    teaching.reset_control()
teaching.sync_url()
