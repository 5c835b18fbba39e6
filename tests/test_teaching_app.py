"""The lesson page and the teaching features in the app (streamlit.testing AppTest).

Every lesson step is walked: its text, live chart, caption and maths, the predict-first question revealed
after the control moves, and the step's set-up button. A link with query parameters restores the state
(data, model, settings, step); the code the app shows reproduces the sparsity and metrics it shows;
Reset returns to the defaults; the dashboard's charts carry a caption and their maths.

The lesson's model is the shipped power-load checkpoint (hidden 64, loaded in well under a second);
links restore a tiny airline model (hidden 8, 2 epochs) that trains in about a second.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import re
import warnings
from html import escape as html_escape

import pytest

from streamlit.testing.v1 import AppTest

from apptest_helpers import choose_tab

from lab_ui import lab_state, report, session, widgets
from scgru_core.teach import lesson, maths
from scgru_core.teach.reproduce import python_code
from scgru_core.teach.settings import LabState
from scgru_core.teach.links import parse_query

ROOT = pathlib.Path(__file__).resolve().parent.parent
APP = os.environ.get("SCGRU_TEST_APP", str(ROOT / "app.py"))
TINY_LINK = {"sample": "airline", "hidden": "8", "epochs": "2", "method": "magnitude", "sparsity": "0.6",
             "ft": "1", "step": "5"}


def app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def from_link(query: dict) -> AppTest:
    """Open a link whose model no checkpoint holds, and train it as its visitor would: with the offered button."""
    at = ok(app(query))
    assert at.session_state["session"].model_info is None  # opening the link trained nothing
    at.button(key="link_train").click().run()
    return ok(at)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def latex(at: AppTest) -> list[str]:
    return [m.value.strip().removeprefix("$$").removesuffix("$$").strip() for m in at.latex]


def _probe(at: AppTest) -> LabState:
    """lab_state.of_session() of the test's session, read without another script run."""
    from unittest import mock

    fake = at.session_state.to_dict()
    with mock.patch.object(lab_state, "ss", fake), mock.patch.object(widgets, "ss", fake), \
            mock.patch.object(session, "get", lambda: fake[session.KEY]):
        return lab_state.of_session()


@pytest.fixture(scope="module")
def lesson_app():
    at = ok(app())
    at.switch_page("app_pages/lesson.py").run()
    return ok(at)


MOVES = {  # how a student moves each step's control
    "task": lambda at: at.slider(key="lesson_window").set_value(96),
    "gru": lambda at: at.select_slider(key="lesson_hidden").set_value(128),
    "train": lambda at: at.radio(key="lesson_trained").set_value("before training"),
    "rule": lambda at: at.slider(key="s").set_value(2.0),
    "finetune": lambda at: at.slider(key="s").set_value(2.5),
    "cost": lambda at: at.slider(key="s").set_value(3.0),
    "compare": lambda at: at.selectbox(key="p_method").set_value("random"),
}


def test_the_lesson_starts_on_the_shipped_model(lesson_app):
    ss = lesson_app.session_state
    assert ss["session"].model_info.model_config == LabState().model_config()
    assert ss["session"].model_info.made == "shipped"  # no training was needed
    assert lesson_app.header[0].value.startswith("Step 1 ·")


@pytest.mark.parametrize("step", lesson.STEPS, ids=lambda s: s.key)
def test_every_lesson_step(lesson_app, step):
    at = lesson_app
    at.radio(key=lab_state.STEP).set_value(step.number).run()
    ok(at)
    assert at.header[0].value == f"Step {step.number} · {step.title}"
    assert at.query_params.get("step") == str(step.number)  # the link follows
    assert any(step.text[:40] in m.value for m in at.markdown)
    assert charts(at), "the step draws its live chart"
    assert maths.CAPTIONS[step.chart] in captions(at)  # how to read the chart
    assert maths.MATHS[step.chart].strip() in latex(at)  # and its maths
    assert all(m.strip() in latex(at) for m in step.maths)
    # predict first: nothing is revealed until the control moves
    at.radio(key=f"q_{step.key}").set_value(step.answer).run()
    ok(at)
    assert not at.success
    MOVES[step.key](at).run()
    ok(at)
    assert any(step.explanation[:30] in s.value for s in at.success), "the answer is revealed"
    at.radio(key=f"q_{step.key}").set_value((step.answer + 1) % len(step.choices)).run()
    assert any(step.explanation[:30] in w.value for w in at.warning)
    if step.key == "finetune":
        at.number_input(key="ft_epochs").set_value(1).run()
        at.button(key="lesson_finetune").click().run()
        ok(at)
        assert at.session_state["session"].finetuned.training.history
        forecast = charts(ok(at.run()))[0]
        assert "pruned + fine-tuned" in [t["name"] for t in forecast["data"]]
    if step.key == "cost":
        at.button(key="lesson_measure").click().run()
        ok(at)
        names = {t.get("name") for spec in charts(at) for t in spec["data"]}
        assert {"dense fused kernel (masked)", "sparse CSR loop"} <= names
        assert any("measured on this machine" in c for c in captions(at))
        at.button(key="lesson_units").click().run()  # when does removing whole units pay?
        ok(at)
        payoff = next(spec for spec in charts(at) if spec["layout"]["title"]["text"].startswith("Removing whole units"))
        assert [t["name"] for t in payoff["data"]] == ["batch 1", "batch 256"]
        assert all(min(t["y"]) > 0 and t["x"][0] == 0.0 for t in payoff["data"])
        assert maths.CAPTIONS["payoff"] in captions(at)
        assert any("batch 1 (dense " in c and "batch 256 (dense " in c for c in captions(at))
    if step.key == "compare":
        assert any(t.get("name", "").startswith("Random") for t in charts(at)[0]["data"])
        assert at.get("page_link")
    # the step's set-up button puts the app in the step's state
    at.button(key="lesson_setup").click().run()
    ok(at.run())
    for key, value in step.overrides.items():
        widget = {"method": "p_method", "sensitivity": "s", "floor": "p_floor", "scope": "p_scope",
                  "global_": "p_global", "finetune_epochs": "ft_epochs", "sparsity": "target"}.get(key)
        if widget:
            want = round(100 * value) if key == "sparsity" else value
            assert at.session_state[widget] == want, key
    assert at.session_state[lab_state.STEP] == step.number


def open_show_code(at):
    """Open the Show code expander, as a click does (its code is written only when it is open)."""
    at.session_state["show_code"] = True
    at.run()
    ok(at)
    return at


def test_show_code_and_report_on_the_lesson_page(lesson_app):
    at = lesson_app
    assert not at.code  # shut: nothing written
    codes = [c.value for c in open_show_code(at).code]
    assert any("sc.train_dense(" in c for c in codes) and any("torch.nn.utils.prune" in c for c in codes)
    assert any(b.label == "Report (HTML)" for b in at.get("download_button"))


def test_a_link_restores_the_state():
    at = from_link({**TINY_LINK, "s": "1.5", "scope": "hh:reset,hh:update", "k": "0.05", "pseed": "3", "lr": "0.003"})
    ss = at.session_state
    assert ss["session"].source["key"] == "airline" and ss["session"].windows.window == 12
    info = ss["session"].model_info
    assert (info.model_config.hidden, info.train_config.epochs, info.train_config.lr) == (8, 2, 0.003)
    assert len(info.training.history) == 2  # trained for the link (no checkpoint has this model)
    assert ss["p_method"] == "magnitude" and ss["target"] == 60 and ss["s"] == 1.5
    assert ss["p_scope"] == "gates" and ss["p_gates"] == ["hh:reset", "hh:update"]
    assert (ss["p_floor"], ss["p_seed"], ss["ft_epochs"], ss[lab_state.STEP]) == (0.05, 3, 1, 5)
    # the session now describes exactly the linked state
    want = LabState.for_sample("airline").updated(**{"hidden": 8, "epochs": 2, "method": "magnitude", "sparsity": 0.6,
                                                     "finetune_epochs": 1, "step": 5, "scope": "hh:reset,hh:update",
                                                     "floor": 0.05, "prune_seed": 3, "lr": 0.003})
    assert _probe(at) == want
    assert at.query_params == want.to_link()  # and the address bar says so: every setting
    assert parse_query(at.query_params) == (want, [])


def test_a_link_never_starts_a_training_it_offers_one_with_its_cost():
    big = {"sample": "power_load", "hidden": "256", "layers": "3", "epochs": "500", "batch": "16", "patience": "0"}
    at = ok(app(big))
    assert at.session_state["session"].model_info is None and at.session_state["session"].job is None  # nothing trained
    offer = next(m.value for m in at.markdown if "not trained on this server yet" in m.value)
    assert "hidden 256 × 3 layers, 500 epochs, batch 16" in offer and "would take up to about" in offer
    assert any(u in offer for u in (" min**", " h**"))  # 500 epochs of a 3-layer GRU: minutes to hours, said first
    assert at.button(key="link_train")  # training is a person's decision
    at.run()  # a rerun (another visitor action) still trains nothing
    assert at.session_state["session"].model_info is None


def test_a_link_to_the_shipped_model_restores_it_at_once():
    at = ok(app({"sample": "power_load", "step": "4"}))
    assert at.session_state["session"].model_info.model_config.hidden == 64  # the checkpoint, no training
    assert not [b for b in at.button if b.key == "link_train"]


def test_a_hand_edited_link_never_breaks_the_app():
    at = ok(app({"sample": "nope", "hidden": "lots", "s": "-1", "method": "drop table", "step": "42", "scope": "x:y"}))
    assert len(at.warning) >= 5  # every ignored value is named
    assert at.session_state["session"].source["key"] == "power_load"
    assert at.session_state["session"].model_info.model_config.hidden == 64  # the defaults, from the checkpoint


@pytest.mark.parametrize("value", ["[Log in again](https://example.invalid/login)", "![x](http://127.0.0.1:9/p.png)",
                                   "<img src=x onerror=alert(1)>", ":red[**urgent**] $x$", "a" * 20_000])
def test_a_link_value_is_echoed_as_short_literal_text_never_as_markdown(value):
    at = ok(app({"s": value}))
    note = next(w.value for w in at.warning if w.value.startswith("Ignored from the link"))
    assert len(note) < 250  # a 20,000-character value is not echoed in full
    # one code span, whose content markdown never parses (a browser check found no link and no image in it)
    assert re.fullmatch(r"Ignored from the link: `[^`]+`\.", note), note


def test_the_code_shown_reproduces_what_the_app_shows():
    at = from_link(TINY_LINK)
    at.switch_page("app_pages/lesson.py").run()
    ok(at)
    shown = at.session_state["session"].prune_setting  # what the lesson's metrics and charts show
    at.button(key="lesson_finetune").click().run()
    ok(at)
    finetuned = at.session_state["session"].finetuned.evaluation.metrics
    open_show_code(at)
    code = next(c.value for c in at.code if "sc.train_dense(" in c.value)
    torch_code = next(c.value for c in at.code if "torch.nn.utils.prune" in c.value)
    assert code.strip() == python_code(_probe(at)).strip()
    ns: dict = {}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "shown", "exec"), ns)
        exec(compile(torch_code, "shown_torch", "exec"), ns)
    assert ns["sparsity"] == pytest.approx(shown.sparsity, abs=1e-12)
    assert ns["torch_sparsity"] == pytest.approx(shown.sparsity, abs=1e-12)
    for name, value in shown.metrics.items():
        assert getattr(ns["metrics"]["pruned"], name) == pytest.approx(value, rel=1e-9), name
        assert getattr(ns["torch_metrics"], name) == pytest.approx(value, rel=1e-6), name
        assert getattr(ns["metrics"]["finetuned"], name) == pytest.approx(getattr(finetuned, name), rel=1e-6), name


def test_reset_to_defaults():
    at = from_link(TINY_LINK)  # a linked state: the airline sample, a tiny model, magnitude pruning, step 5
    at.switch_page("app_pages/lesson.py").run()
    at.radio(key="q_finetune").set_value(1).run()
    assert _probe(at) != LabState()
    at.sidebar.button(key="reset_defaults").click().run()
    ok(at)
    assert _probe(at) == LabState()
    assert at.query_params == lab_state.LabState().to_link()  # the defaults' link
    assert "q_finetune" not in at.session_state  # the lesson's answers are cleared
    assert at.session_state["session"].model_info.model_config.hidden == 64
    assert at.session_state["session"].model_info.made == "shipped"
    assert at.header[0].value.startswith("Step 1 ·")
    at.button(key="lesson_reset").click().run()  # the lesson page has the same control
    assert _probe(ok(at)) == LabState()


@pytest.mark.parametrize("page,kinds", [("app_pages/data.py", ["series"]), ("app_pages/train.py", ["loss", "forecast"]),
                                        ("app_pages/prune.py", ["histogram"]), ("app_pages/tradeoffs.py", ["tradeoff"])])
def test_dashboard_charts_have_a_caption_and_their_maths(lesson_app, page, kinds):
    at = lesson_app
    at.switch_page(page).run()
    ok(at)
    for kind in kinds:
        assert maths.MATHS[kind].strip() in latex(at), (page, kind)
    if page == "app_pages/prune.py":
        assert maths.CAPTIONS["histogram"] in captions(at)
        assert any("sc.train_dense(" in c.value for c in open_show_code(at).code)  # Show code
        assert any(b.label == "Report (HTML)" for b in at.get("download_button"))


def test_the_report_of_a_lesson_state(lesson_app):
    """The download's callable builds the report from what the run captured (no session access)."""
    at = lesson_app
    at.switch_page("app_pages/lesson.py").run()
    ss = at.session_state
    current = ss["session"].lab
    snap = current.at(ss["session"].prune_setting.config)
    inputs = {"current": current, "snap": snap, "ft": None, "state": _probe(at), "label": "Power load",
              "units": "MW", "training": ss["session"].model_info.training, "latency": None,
              "link": "http://x/lesson?s=1"}
    html = report.report(inputs)
    assert f"{snap.evaluation.metrics.rmse:,.1f}" in html or f"{snap.evaluation.metrics.rmse:,.4f}".rstrip("0") in html
    assert html.count('class="plotly-graph-div"') == 6 and "http://x/lesson?s=1" in html
    for kind in ("series", "loss", "histogram", "heatmap", "forecast", "cost"):
        assert html_escape(maths.CAPTIONS[kind]) in html


def test_a_pages_view_travels_in_the_link_and_reset_puts_it_back():
    """The views are settings of the table: changed, they go into the address (only then, so a default address
    stays short), a link opens them on every page, and Reset clears them with the rest."""
    at = ok(app({}))
    at.switch_page("app_pages/compare.py").run()
    at.multiselect(key="cmp_methods").set_value(["agp", "dense"])
    at.multiselect(key="cmp_sparsities").set_value([0.9]).run()
    at.switch_page("app_pages/prune.py").run()
    choose_tab(at, "Heatmaps")
    at.run()
    at.radio(key="p_heatmode").set_value("signed").run()
    ok(at)
    link = {k: v for k, v in at.query_params.items() if k != "tab"}
    assert (link["cmp_methods"], link["cmp_sparsities"], link["heat"]) == ("agp,dense", "0.9", "signed")
    assert "to_metric" not in link and "units" not in link  # views at their defaults stay out of the address
    fresh = ok(app(link))  # the copied address, in another browser
    assert fresh.session_state["cmp_methods"] == ["agp", "dense"] and fresh.session_state["p_heatmode"] == "signed"
    assert _probe(fresh).cmp_sparsities == (0.9,)
    fresh.sidebar.button(key="reset_defaults").click().run()
    ok(fresh)
    assert _probe(fresh) == LabState() and fresh.query_params == LabState().to_link()
    assert "heat" not in fresh.query_params and fresh.session_state["p_heatmode"] == "mask"


def test_the_rule_steps_kept_weights_count_what_its_sparsity_counts():
    from apptest_helpers import new_app, page

    at = page(new_app(), "lesson")
    at.session_state["lesson_step"] = 4
    at.run()
    assert not at.exception
    metrics = {m.label: m for m in at.metric}
    sparsity = float(metrics["Sparsity (in scope)"].value.rstrip("%")) / 100
    kept = int(metrics["Kept weights (in scope)"].value.replace(",", ""))
    total = int(metrics["Kept weights (in scope)"].proto.delta.removeprefix("of ").replace(",", ""))
    assert kept / total == pytest.approx(1 - sparsity, abs=5e-4)  # one count, as the sparsity beside it


def test_set_up_this_step_says_what_it_changed_and_says_so_when_nothing_did():
    from apptest_helpers import new_app, page, texts

    at = page(new_app(), "lesson")
    at.button(key="lesson_setup").click().run()  # step 1 on the fresh session: its settings are already there
    assert any("Step 1 is set up: the app already had its settings" in i for i in texts(at.info))
    at.session_state["lesson_step"] = 4  # the rule step sets the SCGRU rule: move the method away first
    at = page(at, "prune")
    at.selectbox(key="p_method").set_value("magnitude").run()
    at = page(at, "lesson")
    at.button(key="lesson_setup").click().run()
    said = " ".join(texts(at.success))
    assert "Step 4 is set up" in said and "Method: SCGRU sensitivity (was Magnitude)" in said
