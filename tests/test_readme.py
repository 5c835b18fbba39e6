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
