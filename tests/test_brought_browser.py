"""A model trained elsewhere, in a real headless Chromium, as an engineer would bring it.

Save a plain nn.LSTM and its head with safetensors (as any PyTorch user would: `self.lstm`, `self.fc`) and a
three-line JSON; upload both on the Train page; see the LSTM's four gate panels on the Prune page; move the
threshold with the keyboard and watch the sparsity follow; go to Deploy and back; shrink, fine-tune and measure;
download the smaller model and load it into a fresh plain nn.LSTM. Screenshots at projector (1600x1000) and laptop
(1280x800) size go to artifacts/.

Needs Debian's chromium at /usr/bin/chromium (`make chromium`); skipped without it locally, fails under CI.
"""
from __future__ import annotations

import io
import json
import zipfile

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save_file

from browser_support import ARTIFACTS, streamlit_server, wait_for_app, wait_for_charts
from test_deploy_browser import metric_value, sidebar_link


class MyForecaster(torch.nn.Module):
    """An engineer's own forecaster: nothing of the lab's."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(1, 32, 1, batch_first=True)
        self.fc = torch.nn.Linear(32, 1)


def test_bring_an_lstm_prune_shrink_and_take_it_back_to_pytorch(browser, tmp_path):
    torch.manual_seed(0)
    mine = MyForecaster()
    save_file(mine.state_dict(), str(tmp_path / "my_lstm.safetensors"))
    (tmp_path / "my_lstm.json").write_text(json.dumps({"window": 48, "horizon": 1, "scaler": {
        "log": False, "offset": 30000.0, "scale": 5000.0}}))

    with streamlit_server("brought") as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
        page.goto(url)
        wait_for_app(page)
        sidebar_link(page, "Train")
        page.get_by_text("Or load a model: the lab's zip, or one trained elsewhere").click()
        uploader = page.locator(".st-key-brought_files").get_by_test_id("stFileUploaderDropzoneInput")
        uploader.set_input_files([str(tmp_path / "my_lstm.safetensors"), str(tmp_path / "my_lstm.json")])
        wait_for_app(page, timeout=120_000)
        page.get_by_text("LSTM, hidden 32 x 1 layer(s), window 48").first.wait_for(timeout=60_000)
        wait_for_charts(page)
        page.screenshot(path=str(ARTIFACTS / "brought_train_1600.png"), full_page=True)

        sidebar_link(page, "Prune")
        page.get_by_role("heading", name="Prune").first.wait_for()
        wait_for_charts(page)
        panels = page.get_by_test_id("stPlotlyChart").first
        for gate in ("input", "forget", "cell", "output"):  # one panel per LSTM gate
            panels.get_by_text(gate, exact=False).first.wait_for(timeout=30_000)
        before = metric_value(page, "Sparsity")
        thumb = page.get_by_test_id("stSlider").get_by_role("slider").first
        thumb.focus()
        for _ in range(4):
            thumb.press("ArrowRight")
            wait_for_app(page)
        wait_for_charts(page)
        assert metric_value(page, "Sparsity") != before  # the threshold moved the cut
        page.screenshot(path=str(ARTIFACTS / "brought_prune_1600.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(ARTIFACTS / "brought_prune_1280.png"), full_page=True)
        page.set_viewport_size({"width": 1600, "height": 1000})

        sidebar_link(page, "Deploy")
        page.get_by_role("heading", name="Deploy").first.wait_for()
        assert metric_value(page, "Hidden units") == "16"  # half of the brought model's 32 units
        page.get_by_role("button", name="Shrink, fine-tune and measure").click()
        wait_for_app(page, timeout=240_000)
        page.get_by_role("heading", name="Measured on this machine").wait_for(timeout=60_000)
        wait_for_charts(page)
        page.screenshot(path=str(ARTIFACTS / "brought_deploy_1600.png"), full_page=True)
        with page.expect_download() as info:
            page.get_by_role("button", name="Smaller model (zip)").click()
        with zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read())) as zf:
            desc = json.loads(zf.read("model.json"))
            state = st_load(zf.read("model.safetensors"))
        assert desc["cell"] == "lstm" and desc["hidden"] == 16 and desc["window"] == 48
        assert desc["scaler"] == {"log": False, "offset": 30000.0, "scale": 5000.0}  # its own scaling, kept
        lstm = torch.nn.LSTM(1, 16, 1, batch_first=True)
        lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")}, strict=True)
        head = torch.nn.Linear(16, 1)
        head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")}, strict=True)

        sidebar_link(page, "Prune")  # away and back: the brought model is still the one on screen
        page.get_by_role("heading", name="Prune").first.wait_for()
        wait_for_charts(page)
        page.get_by_test_id("stPlotlyChart").first.get_by_text("forget", exact=False).first.wait_for(timeout=30_000)
        page.close()
