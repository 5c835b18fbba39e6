"""The README's promises stay true: its Python example runs and its quickstart commands exist."""
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_python_example_runs_and_prints_metrics(capsys):
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert re.search(r"\d+\.\d% pruned; RMSE dense \d+, pruned \d+, fine-tuned \d+ MW", out), out


def test_quickstart_targets_exist_and_ci_calls_make_test():
    assert "make run" in README and "make test" in README
    targets = subprocess.run(["make", "-pn"], cwd=ROOT, capture_output=True, text=True).stdout
    assert re.search(r"^run:", targets, re.M) and re.search(r"^test:", targets, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.S)


def test_structured_example_runs_and_writes_a_plain_export(capsys, tmp_path, monkeypatch):
    code = next(b for b in python_blocks() if "shrink_and_finetune" in b)
    monkeypatch.chdir(tmp_path)  # it writes runs/shrunk
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert re.search(r"hidden 64 -> 32; RMSE \d+ -> \d+ MW after fine-tuning; batch 256 \d+\.\d\dx dense", out), out
    assert {p.name for p in (tmp_path / "runs" / "shrunk").iterdir()} == {"model.safetensors", "model.json",
                                                                         "load_model.py"}


def test_the_readme_loader_is_the_one_every_export_ships():
    from scgru_core.deploy.export import LOADER
    assert LOADER in python_blocks()


def test_the_brought_model_example_runs_on_a_plain_lstm(tmp_path, monkeypatch):
    import json

    import torch
    from safetensors.torch import save_file

    import scgru_core as sc
    from scgru_core.data.samples import SAMPLES

    code = next(b for b in python_blocks() if "load_brought" in b)
    torch.manual_seed(0)
    lstm, fc = torch.nn.LSTM(1, 8), torch.nn.Linear(8, 1)
    save_file({**{f"lstm.{k}": v for k, v in lstm.state_dict().items()},
               **{f"fc.{k}": v for k, v in fc.state_dict().items()}}, str(tmp_path / "my_lstm.safetensors"))
    (tmp_path / "my_lstm.json").write_text(json.dumps({"window": 48}))
    monkeypatch.chdir(tmp_path)
    scope = {"sc": sc, "series": sc.load_series(SAMPLES["power_load"].path)}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["lab"].model.config == sc.ModelConfig(hidden=8, cell="lstm") and scope["data"].window == 48
