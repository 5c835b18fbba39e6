"""Every numeric flag of every command is checked against its limits (the settings table's, or the few flags the
table does not hold) before any work, and a refusal is one line with exit code 2; output paths are checked before
any training."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from scgru_core.cli.main import build_parser, main
from scgru_core.cli.flags import cores
from scgru_core.teach.settings import SETTINGS


def numeric_flags():
    """(command, flag, limits, is_list) of every flag of every subcommand that takes a number."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command, parser in sub.choices.items():
        for action in parser._actions:
            if action.type in (int, float):
                raise AssertionError(f"{command} {action.option_strings}: a number without limits")
            limits = getattr(action.type, "limits", None)
            if limits is not None:
                yield command, action.option_strings[-1], limits, getattr(action.type, "is_list", False)


def required(command: str, flag: str) -> list[str]:
    """What the command needs besides `flag` (leaving out the flag's rival in its either-or group)."""
    argv = {"run": ["--data", "x.csv"], "sweep": ["--data", "x.csv", "--sensitivities", "1"],
            "compare": ["--data", "x.csv", "--methods", "magnitude", "--sparsities", "0.5"],
            "sensitivity": ["--data", "x.csv"], "shrink": ["--run", "r", "--units", "0.5", "--export", "e"],
            "study": ["--config", "c.toml"]}[command]
    either_or = {("sweep", "--sparsities"): "--sensitivities", ("sweep", "--sensitivities"): "--sensitivities",
                 ("shrink", "--sensitivity"): "--units", ("shrink", "--units"): "--units",
                 ("compare", "--sparsities"): "--sparsities"}
    drop = either_or.get((command, flag))
    if drop:
        i = argv.index(drop)
        argv = argv[:i] + argv[i + 2:]
    return argv


def values_at_and_past(limits):
    kind, low, high, low_in, high_in = limits
    step = 1 if kind is int else (high - low) * 1e-3
    at = [v for v, inside in ((low, low_in), (high, high_in)) if inside] or [low + step]
    past = [low - step if low_in else low, high + step if high_in else high]
    return [kind(v) for v in at], [kind(v) for v in past]


def test_the_table_gives_the_limits_of_the_flags_that_are_settings_of_the_app():
    flags = {flag: limits for _, flag, limits, _ in numeric_flags()}
    assert flags["--window"][1:3] == SETTINGS["window"].bounds == (1, 2000)
    assert flags["--seed"][1:3] == (0, 2**31 - 1)
    assert flags["--hidden"][1:3] == SETTINGS["hidden"].limits and 350 <= flags["--hidden"][2]  # the paper's size
    assert flags["--threads"][1:3] == (1, cores())
    assert len(flags) >= 20


@pytest.mark.parametrize("command, flag, limits, is_list", list(numeric_flags()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_numeric_flag_accepts_its_bounds_and_refuses_past_them_in_one_line(command, flag, limits, is_list,
                                                                               capsys):
    at, past = values_at_and_past(limits)
    parser = build_parser()
    for value in at:
        args = parser.parse_args([command, *required(command, flag), flag, str(value)])
        got = getattr(args, flag.lstrip("-").replace("-", "_"))
        assert got == ([value] if is_list else value)
    for value in past + ["nan", "x"]:
        assert main([command, *required(command, flag), flag, str(value)]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: argument {flag}") and "--help" in lines[0], lines


@pytest.mark.parametrize("argv, says", [
    (["--seed", "1180591620717411303424"], "outside [0, 2147483647]"),
    (["--seed", "-1"], "outside [0, 2147483647]"),
    (["--epochs", "0"], "outside [1, 500]"),
    (["--finetune-epochs", "-1"], "outside [0, 100]"),
    (["--scope", ""], "expected both, ih, hh"),
    (["--threads", "100000"], f"outside [1, {cores()}]"),
    (["--structured-units", "0.5", "--repeats", "0"], "outside [1, 10000]"),
    (["--structured-units", "1"], "outside [0, 1)"),
])
def test_the_flags_the_adversarial_pass_found_are_refused_before_any_work(argv, says, capsys):
    assert main(["run", "--data", "nowhere.csv", *argv]) == 2  # refused before the data is even looked for
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and "Traceback" not in err


def test_an_empty_list_of_points_is_refused(capsys):
    assert main(["sweep", "--data", "x.csv", "--sensitivities", ""]) == 2
    assert "expected at least one comma-separated number" in capsys.readouterr().err


def test_outputs_that_cannot_be_written_are_refused_before_any_training(tmp_path, capsys):
    data = tmp_path / "series.csv"
    data.write_text("value\n" + "\n".join(str(i % 7) for i in range(300)))
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    cases = {
        ("--out", str(a_file)): "a file is there",
        ("--export", str(a_file / "inside")): "is a file, so nothing can be created under it",
        ("--json", str(tmp_path)): "that is a directory",
        ("--export", "/proc/scgru-export"): "nothing can be written in /proc",
    }
    for argv, says in cases.items():
        assert main(["run", "--data", str(data), "--epochs", "1", "--quiet", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err, err
    assert not any(p.name.endswith(".json") for p in tmp_path.iterdir())


def test_the_real_command_prints_one_line_and_no_traceback(tmp_path):
    p = subprocess.run([sys.executable, "-m", "scgru_core", "run", "--data", str(tmp_path / "x.csv"), "--threads",
                        "100000"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr + p.stdout


def _other_value(setting):
    """A value of `setting` other than its default that its flag accepts."""
    if setting.type is bool:
        return True
    if setting.choices is not None:
        return next(c for c in setting.choices if c != setting.default)
    if setting.kind == "scope":
        return "hh"
    low, high = setting.limits
    return type(setting.default)((low + high) / 2) if setting.type is float else min(high, setting.default + 1)


def test_every_setting_of_the_table_with_a_flag_reaches_the_engine_config_it_names():
    """The command line's flags come from the settings table (add_table_flags) and its configs are built by the
    table (engine_config): a row's flag sets exactly the config field the row names, with the row's default."""
    from scgru_core.cli.common import add_common, configs_from, dest
    from scgru_core.teach.settings import SETTINGS

    parser = argparse.ArgumentParser()
    add_common(parser)
    defaults = configs_from(parser.parse_args(["--data", "x.csv"]))
    flagged = [s for s in SETTINGS.values() if s.cli_flag and s.config in ("windows", "model", "train", "prune")]
    assert {s.name for s in flagged} >= {"window", "horizon", "log", "val", "test", "hidden", "layers", "cell",
                                        "epochs", "batch", "lr", "patience", "seed", "method", "scope", "floor",
                                        "global_"}
    for s in flagged:
        config = {"windows": defaults.windows, "model": defaults.model, "train": defaults.train,
                  "prune": defaults.prune}[s.config]
        shown = getattr(config, s.attr or s.name)
        assert (shown.to_text() if s.kind == "scope" else shown) == s.default, s.name
        value = _other_value(s)
        argv = ["--data", "x.csv", s.cli_flag] + ([] if s.type is bool else [str(value)])
        if s.name == "global_":
            argv += ["--method", "magnitude"]  # the threshold rule is per matrix
        got = configs_from(parser.parse_args(argv))
        config = {"windows": got.windows, "model": got.model, "train": got.train, "prune": got.prune}[s.config]
        shown = getattr(config, s.attr or s.name)
        assert (shown.to_text() if s.kind == "scope" else shown) == value, (s.name, dest(s))
