"""SCGRU Pruning Lab: the Streamlit entry point (`streamlit run app.py`).

It runs on every rerun and frames every page: page config, the one-time process warm-up,
the built-in sample on a session's first visit, the page list and the sidebar status.

Streamlit runs this file as `__main__`. A process that multiprocessing starts from the server (a Compare pool,
a workbook read apart) imports the parent's main file again, as `__mp_main__`: everything happens under the
guard at the bottom, so such a process imports nothing and runs nothing of the app (it ran the whole app in every
child: 781 "missing ScriptRunContext" warnings for one 20,000-row workbook read).
"""


def main() -> None:
    import streamlit as st

    from lab_ui import charts, classroom, lab_state, memory, prefetch, server, state, training, widgets
    from lab_ui import prune_view

    st.set_page_config(page_title="SCGRU Pruning Lab", page_icon=":material/content_cut:", layout="wide")
    server.warm_up()
    prefetch.start()  # the shipped model's slider computed in the background, once per server
    st.html(state.CSS)
    memory.restore_widgets(state.PERSISTENT_WIDGETS)  # the values of widgets drawn on other pages, which Streamlit drops
    widgets.init_defaults()  # every setting's widget starts at the settings table's default
    state.recover_interrupted_job()
    above = st.container(key="above_page")  # notices above a page's title, clear of Streamlit's header (state.CSS)
    with above:
        training.resume()  # a training under way for this session (it outlives script runs): installed, or shown polled
    classroom.admit_teacher(lab_state.note)  # the teacher's link: its token checked, then out of the address bar
    lab_state.start_session()  # a shared link: its data, settings and lesson step
    state.ensure_dataset()

    page = st.navigation({
        "SCGRU Pruning Lab": [
            st.Page(state.HOME, title="Home", icon=":material/home:", default=True),
            st.Page(lab_state.LESSON_PAGE, title="Lesson", icon=":material/school:", url_path="lesson"),
            st.Page(state.DATA_PAGE, title="Data", icon=":material/table_chart:", url_path="data"),
            st.Page(state.TRAIN_PAGE, title="Train", icon=":material/model_training:", url_path="train"),
            st.Page(state.PRUNE_PAGE, title="Prune", icon=":material/content_cut:", url_path="prune"),
            st.Page(state.TRADEOFFS_PAGE, title="Trade-offs", icon=":material/query_stats:", url_path="tradeoffs"),
            st.Page(state.DEPLOY_PAGE, title="Deploy", icon=":material/rocket_launch:", url_path="deploy"),
            st.Page(state.COMPARE_PAGE, title="Compare", icon=":material/compare_arrows:", url_path="compare"),
        ] + ([st.Page(state.CLASS_PAGE, title="Class", icon=":material/groups:", url_path=classroom.CLASS_PAGE)]
             if classroom.is_teacher() else []),  # the teacher's view: in no student's navigation, so no link reaches it
    })
    with above:
        lab_state.complete_pending()  # the model a link, Reset or a lesson step asked for (checkpoint or training)
    prefetch.follow()  # whatever model is in place: its slider computed in the background
    if page.url_path != "prune":  # a link to another page: the Prune setting its star and sidebar show
        prune_view.ensure_setting()
    page.run()
    with st.sidebar:  # drawn after the page, so it shows what the page just did
        state.sidebar_status(pruning=page.url_path != "prune")  # the Prune page's sliders move faster than this
        lab_state.reset_control()
        classroom.challenge_box()  # a class's challenge, while the teacher runs one
        charts.projector_control()
    lab_state.sync_url()  # the address bar holds the state, so a copied link opens it
    memory.remember_widgets(state.PERSISTENT_WIDGETS)


if __name__ == "__main__":
    main()
