"""`python -m scgru_core shrink` and `run --structured-units`: remove hidden units, fine-tune once, export,
and measure side by side what that saves (deploy.py). One function, `structured`, serves both commands."""
from __future__ import annotations

import argparse
import pathlib
import sys
from dataclasses import asdict

from scgru_core import threads
from scgru_core.cli.common import add_threads, command, metric_line, progress_callbacks, write_json
from scgru_core.cli.flags import other, table
from scgru_core.data.reading import ReadConfig, load_series
from scgru_core.deploy.measure import measure_deployment
from scgru_core.errors import CheckpointError, ConfigError
from scgru_core.net.evaluate import evaluate, evaluate_naive
from scgru_core.deploy.export import export_model, require_onnx
from scgru_core.store.runs import SavedRun, check_fits, file_sha256, load_run
from scgru_core.net.model import Forecaster
from scgru_core.net.masks import MaskSet
from scgru_core.data.samples import SAMPLES
from scgru_core.deploy.shrink import shrink_and_finetune
from scgru_core.net.train import FINETUNE_LR, TrainConfig, finetune_config
from scgru_core.deploy.units import UnitConfig
from scgru_core.data.windows import Dataset, WindowConfig, prepare


def add_structured_options(p: argparse.ArgumentParser, required_export: bool = False) -> None:
    p.add_argument("--export", required=required_export,
                   help="write model.safetensors (plain nn.GRU / nn.Linear keys), model.json and load_model.py here")
    p.add_argument("--onnx", action="store_true", help="add model.onnx to the export (needs requirements-export.txt)")
    p.add_argument("--repeats", type=other("repeats"), default=15, help="timed calls per latency figure (median)")


def add_parser(sub) -> None:
    p = sub.add_parser("shrink", help="remove whole hidden units of a saved run, fine-tune once, export, and "
                                      "measure what it saves")
    p.add_argument("--run", required=True, help="a run directory (run --out, or a shipped checkpoint)")
    ctl = p.add_mutually_exclusive_group(required=True)
    ctl.add_argument("--units", type=other("units"), help="fraction of each layer's hidden units to remove (smallest L2 norm)")
    ctl.add_argument("--sensitivity", type=other("unit_sensitivity"), help="SCGRU on units: remove units whose norm < s * std(unit norms)")
    ctl.add_argument("--dead", action="store_true", help="remove only units with no path to the output (exact)")
    p.add_argument("--floor", type=other("unit_floor"), default=0.01, help="keep at least this fraction of each layer's units")
    p.add_argument("--data", help="the series the run was trained on (default: the file the run recorded)")
    p.add_argument("--finetune-epochs", type=table("finetune_epochs"), default=5)
    p.add_argument("--finetune-lr", type=table("lr"), default=FINETUNE_LR)
    add_structured_options(p, required_export=True)
    p.add_argument("--json", help="write the result as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_threads(p)


def unit_config_from(args) -> UnitConfig:
    """The unit rule `shrink`'s options choose (exactly one of --units, --sensitivity, --dead)."""
    if args.dead:
        return UnitConfig(method="dead", floor=args.floor)
    if args.sensitivity is not None:
        return UnitConfig(method="unit_sensitivity", sensitivity=args.sensitivity, floor=args.floor)
    return UnitConfig(method="unit_norm", fraction=args.units)


def data_file_settings(path: str | pathlib.Path) -> dict:
    """What a run records of its data file, so `shrink` can find it and refuse another one."""
    p = pathlib.Path(path).resolve()
    return {"file": str(p), "file_sha256": file_sha256(p)}


def data_of_run(saved: SavedRun, data_arg: str | None) -> Dataset:
    """Rebuild the run's dataset from its data file and settings, refusing a file or split it was not trained on."""
    settings = saved.config
    named = data_arg or settings.get("file")
    if not named:
        raise ConfigError("This run does not record its data file: pass --data FILE, the series it was trained on.")
    path = pathlib.Path(named)
    if not path.is_file() and data_arg is None and settings.get("sample") in SAMPLES:
        path = SAMPLES[settings["sample"]].path  # a shipped checkpoint names its sample file
    if not path.is_file():
        raise ConfigError(f"The data file {named} does not exist: pass --data FILE, the series the run was trained on.")
    if settings.get("file_sha256") and file_sha256(path) != settings["file_sha256"]:
        raise CheckpointError(f"{path.name} is not the file this run was trained on (its SHA-256 differs): "
                              "pass --data with the original series.")
    try:
        read, windows = ReadConfig(**settings.get("read", {})), WindowConfig(**settings["windows"])
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"The run's settings do not say how its data was prepared ({exc}).") from None
    data = prepare(load_series(path, read), windows)
    check_fits(saved, data)  # the same window, horizon and scaling it was trained with
    return data


def structured(args, dense: Forecaster, data: Dataset, unit_config: UnitConfig, train: TrainConfig,
               masks: MaskSet | None = None, extra: dict | None = None) -> int:
    """Remove units, fine-tune once, measure every deployment variant, export; print and write the JSON."""
    unit_config.check_for(dense.config.hidden)
    epochs = args.finetune_epochs
    ft = finetune_config(train, epochs, args.finetune_lr) if epochs > 0 else None
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    result = shrink_and_finetune(dense, data, unit_config, ft, masks,
                                 progress_callbacks(args.quiet, label="fine-tune epoch"))
    sel = result.selection
    report = measure_deployment(dense, result.final, sel, data, repeats=args.repeats,
                                progress=lambda name: say(f"  measuring {name}"))
    exported = export_model(args.export, result.final, data.window, data.scaler, onnx=args.onnx) if args.export else {}
    payload = {**(extra or {}), "rule": unit_config.method, "unit_config": asdict(unit_config),
               "hidden_before": sel.hidden_before, "hidden_after": sel.hidden_after, "layers": dense.config.layers,
               "units_kept_by_rule": list(sel.rule_kept),
               "dense": evaluate(dense, data).metrics.to_dict(), "naive": evaluate_naive(data).metrics.to_dict(),
               "pruned": result.shrunk_metrics.to_dict(),
               "finetuned": result.finetuned_metrics.to_dict() if result.finetuned_metrics else None,
               "shrink_seconds": result.shrink_seconds,
               "finetune_seconds": result.finetuning.seconds if result.finetuning else 0.0,
               **report.to_json(), "export": {name: str(path) for name, path in exported.items()}}
    print(f"{unit_config.describe()}: hidden {sel.hidden_before} -> {sel.hidden_after} units "
          f"(rule kept {', '.join(map(str, sel.rule_kept))} per layer; removal took {result.shrink_seconds:.3f} s)")
    for key in ("naive", "dense", "pruned", "finetuned"):
        if payload[key]:
            print(metric_line(key, payload[key]))
    print(f"  {report.note}, {report.threads} torch thread(s):")
    print(f"  {'variant':<34} {'params':>9} {'bytes':>10} " + " ".join(f"{'ms b' + str(b):>10}" for b in report.batches)
          + f" {'RMSE':>10} {'max |diff|':>10}")
    for r in report.rows:
        print(f"  {r.label:<34} {r.params:>9,} {r.bytes:>10,} " + " ".join(f"{r.ms[b]:>10.3f}" for b in report.batches)
              + f" {r.rmse:>10.4g} {r.max_abs_diff:>10.3g}")
    for variant, why in report.skipped.items():
        print(f"  (no {variant}: {why})")
    if exported:
        print(f"  exported   {', '.join(exported)} to {args.export}")
    write_json(args.json, payload)
    return 0


@command
def cmd_shrink(args) -> int:
    unit_config = unit_config_from(args)
    if args.onnx:
        require_onnx()
    saved = load_run(args.run)
    if args.threads is None:  # the model's size is known only now
        threads.pin(threads.choose_threads(saved.model.config.hidden))
    data = data_of_run(saved, args.data)
    try:
        train = TrainConfig(**saved.config.get("train", {}))
    except TypeError as exc:
        raise CheckpointError(f"The run's training settings are not readable ({exc}).") from None
    return structured(args, saved.model, data, unit_config, train, saved.masks or None,
                      extra={"run": str(args.run)})
