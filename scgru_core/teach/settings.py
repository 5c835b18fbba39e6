"""Every setting a person can change, declared once (a row is a `setting.Setting`): field, type, default, bounds or
choices, widget key, URL key, label and help, where the engine keeps it, its command-line flag; the pages' views
included.

The app's widgets (lab_ui/widgets.py), the address bar (links.py), Reset, the engine configs (`LabState` below,
`engine_config`), the command line's flags (cli/common.py), Compare, Show code and the lesson's set-up buttons all
read this table, so they cannot disagree: a value a link may carry is a value a widget can show, and a default is
the same on every page, in the CLI and in the shipped checkpoints. Defaults come from the engine's own config
dataclasses (TrainConfig, ModelConfig, WindowConfig, PruneConfig, UnitConfig, CompareConfig), so there is one set
of them.

    SETTINGS["lr"].choices          # what the learning-rate slider offers and a link may say
    LabState().train_config()       # the engine's TrainConfig for the defaults
"""
from __future__ import annotations

from dataclasses import field, fields, make_dataclass, replace
from typing import Any, Mapping

from scgru_core.errors import ConfigError, ScgruError
from scgru_core.study.experiment import RUN_FINETUNE_EPOCHS
from scgru_core.net.cells import CELLS
from scgru_core.net.model import ModelConfig
from scgru_core.pruning.rules import RULES, PruneConfig
from scgru_core.pruning.scopes import Scope
from scgru_core.data.samples import DEFAULT_SAMPLE, SAMPLES
from scgru_core.net.train import TrainConfig, finetune_config
from scgru_core.data.windows import WindowConfig
from scgru_core.teach.lesson import STEPS
from scgru_core.teach.setting import Setting, as_text
from scgru_core.deploy.units import UNIT_RULES, UnitConfig
from scgru_core.net.metrics import METRIC_LABELS, METRIC_NAMES
from scgru_core.pruning.gradual import GRADUAL
from scgru_core.study.compare import CompareConfig
from scgru_core.study.executors import EXECUTORS
from scgru_core.study.methods import TRAINED, known_methods, method_help, method_label
LATENCY_BATCHES = (1, 256)  # the batch sizes the Trade-offs page times a model at
COMPARE_SPARSITIES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)  # the final sparsities Compare offers


def _d(config, attr: str):
    """The engine's default: one set of defaults for the app, the CLI and the shipped checkpoints."""
    return getattr(config(), attr)


_W, _M, _T, _P = WindowConfig, ModelConfig, TrainConfig, PruneConfig
SETTINGS: dict[str, Setting] = {s.name: s for s in (
    # data: the sample and how its windows are cut
    Setting("sample", str, DEFAULT_SAMPLE, "sample", "sample_pick", "Built-in sample", kind="select",
            choices=tuple(SAMPLES), group="data", labels={k: s.label for k, s in SAMPLES.items()},
            flag=None),  # the command line reads --data
    Setting("window", int, _d(_W, "window"), "window", "f_window", "Window (input steps)",
            "How many past values the model sees for each forecast.", bounds=(1, 2000), step=1,
            config="windows", group="data"),
    Setting("horizon", int, _d(_W, "horizon"), "horizon", "f_horizon", "Horizon (steps ahead)",
            "How far ahead the model forecasts; the error is measured over all of these steps.", bounds=(1, 500),
            step=1, config="windows", group="data"),
    Setting("log", bool, _d(_W, "log"), "log", "f_log", "Log transform",
            "For positive series whose swings grow with their level.", kind="checkbox", config="windows",
            group="data"),
    Setting("val", float, _d(_W, "val_fraction"), "val", "f_val", "Validation share (%)",
            "The part after training that early stopping and the sensitivity analysis read.", kind="slider",
            bounds=(0.05, 0.40), step=1, scale=100, config="windows", attr="val_fraction", group="data", flag="--val-fraction"),
    Setting("test", float, _d(_W, "test_fraction"), "test", "f_test", "Test share (%)",
            "The last part of the series: every reported error is measured on it.", kind="slider",
            bounds=(0.05, 0.40), step=1, scale=100, config="windows", attr="test_fraction", group="data", flag="--test-fraction"),
    # model
    Setting("hidden", int, _d(_M, "hidden"), "hidden", "m_hidden", "Hidden size",
            "Units per GRU layer. The matrices to prune are 3H×I (input) and 3H×H (hidden).", kind="select_slider",
            choices=(8, 16, 32, 64, 128, 256), config="model", group="model", cli=(1, 4096)),
    Setting("layers", int, _d(_M, "layers"), "layers", "m_layers", "Layers", kind="select", choices=(1, 2, 3),
            config="model", group="model", cli=(1, 8)),
    Setting("cell", str, _d(_M, "cell"), "cell", "m_cell", "Cell",
            "GRU, LSTM (four gates and a cell state) or a plain Elman RNN (no gates), as torch builds them; GRU1-3 are "
            "Dey & Salem's gate variants, baselines with fewer parameters.", kind="select",
            config="model", group="model"),  # its choices and labels follow the cell registry
    # training
    Setting("epochs", int, _d(_T, "epochs"), "epochs", "t_epochs", "Epochs", bounds=(1, 500), step=1,
            config="train", group="training"),
    Setting("batch", int, _d(_T, "batch_size"), "batch", "t_batch", "Batch size", kind="select",
            choices=(16, 32, 64, 128, 256), config="train", attr="batch_size", group="training", cli=(1, 65_536),
            flag="--batch-size"),
    Setting("lr", float, _d(_T, "lr"), "lr", "t_lr", "Learning rate", "Adam's step size.", kind="select_slider",
            choices=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0), config="train", group="training",
            cli=(1e-7, 10.0)),
    Setting("patience", int, _d(_T, "patience"), "patience", "t_patience", "Patience",
            "Stop after this many epochs without a better validation loss (0: never stop early).", bounds=(0, 100),
            step=1, config="train", group="training"),
    Setting("seed", int, _d(_T, "seed"), "seed", "t_seed", "Seed",
            "The initial weights and the batch order: the same seed gives the same model.", bounds=(0, 2**31 - 1),
            step=1, config="train", group="training"),
    # pruning
    Setting("method", str, _d(_P, "method"), "method", "p_method", "Method", kind="select", config="prune",
            group="pruning"),  # its choices, labels and help follow the rule registry (_follow_registries)
    Setting("sensitivity", float, _d(_P, "sensitivity"), "s", "s", "Threshold s (× std |W|)",
            "The SCGRU sensitivity: larger s cuts more weights. Arrow keys move it by 0.01.", kind="slider",
            bounds=(0.0, 5.0), step=0.01, config="prune", group="pruning",
            flag=None),  # run's --sensitivity and --sparsity drive the rule: either, never both
    Setting("sparsity", float, _d(_P, "sparsity"), "sparsity", "target", "Target sparsity (%)",
            "The share of in-scope weights to prune; for the threshold rule the s that reaches it is found, up to "
            "the most the floor k lets it cut.", kind="slider", bounds=(0.0, 0.99), step=1, scale=100,
            config="prune", group="pruning", cli=(0.0, 0.999), flag=None),
    Setting("scope", str, "both", "scope", "p_scope", "Scope",
            "Which weights may be cut: both matrices, only the input-to-hidden W_ih, only the hidden-to-hidden "
            "W_hh, or chosen gate blocks (reset r, update z, candidate n) of either.", kind="scope",
            config="prune", group="pruning"),
    Setting("floor", float, _d(_P, "floor"), "k", "p_floor", "Floor k (keep at least this fraction of each matrix)",
            kind="number", bounds=(0.001, 1.0), step=0.005, config="prune", group="pruning"),
    Setting("global_", bool, _d(_P, "global_"), "global", "p_global", "One global ranking over all matrices",
            kind="checkbox", config="prune", group="pruning"),
    Setting("prune_seed", int, _d(_P, "seed"), "pseed", "p_seed", "Random seed (random rule)", bounds=(0, 10_000),
            step=1, config="prune", attr="seed", group="pruning", flag=None),  # the CLI's --seed seeds both
    Setting("finetune_epochs", int, RUN_FINETUNE_EPOCHS, "ft", "ft_epochs", "Fine-tune epochs",
            "Epochs of training with the pruned weights held at zero.", bounds=(1, 100), step=1, group="pruning",
            cli=(0, 100)),  # the command line's 0: prune without fine-tuning
    # lesson
    Setting("step", int, 1, "step", None, "Lesson step", bounds=(1, len(STEPS)), group="lesson", flag=None),
    # views: what a page shows of the same state, and Compare's and Deploy's own choices (the command line has its
    # own flags for these, wider than a page's: any sparsity, any number of seeds); into links where a teacher would
    # share them
    Setting("matrix", str, "rnn.weight_hh_l0", "matrix", "p_matrix", "Matrix",
            "The weight matrix the Histograms and Heatmaps tabs show.", kind="radio", group="view", flag=None),
    Setting("projector", bool, False, "projector", "projector", "Projector mode",
            "Larger text on every chart and number, thicker lines: for the back row of a classroom. A link carries "
            "it, so the projected page opens this way.", kind="toggle", group="view", flag=None),
    Setting("log_count", bool, False, "logcount", "p_logcount", "Log counts", kind="checkbox", group="view",
            flag=None),
    Setting("heat_mode", str, "mask", "heat", "p_heatmode", "Show", kind="radio", choices=("mask", "signed"),
            group="view", labels={"mask": "kept / cut", "signed": "signed w"}, flag=None),
    Setting("to_methods", tuple, (), "to_methods", "to_methods", "Methods", kind="multiselect", group="view",
            flag=None),  # choices and default follow the rule registry (_follow_registries)
    Setting("to_metric", str, METRIC_NAMES[0], "to_metric", "to_metric", "Error", kind="select",
            choices=METRIC_NAMES, labels=METRIC_LABELS, group="view", flag=None),
    Setting("to_bytes", str, "bytes_csr", "to_bytes", "to_bytes", "Storage format", kind="select",
            choices=("bytes_csr", "bytes_bitmask", "bytes_dense"),
            labels={"bytes_csr": "CSR", "bytes_bitmask": "bitmask", "bytes_dense": "dense fp32"}, group="view",
            flag=None),
    Setting("to_logy", bool, False, "to_logy", "to_logy", "Log scale",
            "A logarithmic error axis, to see the low-error end.", kind="checkbox", group="view", flag=None),
    Setting("to_units", bool, True, "to_units", "to_units", "Remove whole units (structured)",
            "A curve of hidden units removed (smallest L2 norm first, the same share of every layer): a physically "
            "smaller GRU. Its sparsity is the share of the GRU's weights that are gone.", kind="checkbox",
            group="view", flag=None),
    Setting("to_latency", bool, False, None, "to_latency", "Measure latency",
            "Time each prune-only point on this machine: CSR sparse matrices for masked weights (masked dense weights "
            "always cost the dense time), the smaller nn.GRU for units. Takes a few seconds.", kind="checkbox",
            group="view", flag=None),  # not in links: a link must not start timing runs on the server
    Setting("to_latency_batch", int, LATENCY_BATCHES[-1], None, "to_latency_batch", "Latency batch", kind="select",
            choices=LATENCY_BATCHES, group="view", flag=None,
            labels={b: f"{b} window{'s' if b > 1 else ''} per call" for b in LATENCY_BATCHES}),
    Setting("to_ft_epochs", int, 2, "to_ft_epochs", "to_ft_epochs", "Fine-tune epochs per point", bounds=(1, 50), step=1,
            group="view", flag=None),
    Setting("cmp_methods", tuple, _d(CompareConfig, "methods"), "cmp_methods", "cmp_methods", "Methods",
            kind="multiselect", config="compare", attr="methods", group="compare", flag=None),
    Setting("cmp_sparsities", tuple, _d(CompareConfig, "sparsities"), "cmp_sparsities", "cmp_sparsities",
            "Final sparsities", "The share of in-scope weights each method ends with (ignored by the unpruned models).",
            kind="multiselect",
            choices=COMPARE_SPARSITIES, item=float, config="compare", attr="sparsities", group="compare",
            labels={p: f"{p:.0%}" for p in COMPARE_SPARSITIES}, flag=None),
    Setting("cmp_scopes", tuple, ("both",), "cmp_scopes", "cmp_scopes", "Scopes",
            "Which matrices are pruned. Choose several to run the same methods with each scope: the study's "
            "input-to-hidden vs hidden-to-hidden experiment.", kind="multiselect",
            choices=("both", "ih", "hh"), group="compare", flag=None,
            labels={"both": "both (ih + hh)", "ih": "input-to-hidden only (ih)", "hh": "hidden-to-hidden only (hh)"}),
    Setting("cmp_epochs", int, 3, "cmp_epochs", "cmp_epochs", "Dense epochs E",
            "Epochs of the dense model every method starts from (and of every gradual method's training), short "
            "enough for a class: the Train page's epochs are for the one model on screen.", bounds=(1, 100), step=1,
            group="compare", flag=None),
    Setting("cmp_ft", int, 1, "cmp_ft", "cmp_ft", "Fine-tune epochs F", bounds=(0, 50), step=1, group="compare",
            flag=None),
    Setting("cmp_seeds", int, 1, "cmp_seeds", "cmp_seeds", "Seeds",
            "Seeds counted up from the Train page's seed; the charts show the mean.", bounds=(1, 5), step=1,
            group="compare", flag=None),
    Setting("cmp_metric", str, METRIC_NAMES[0], "cmp_metric", "cmp_metric", "Error measure", kind="select",
            choices=METRIC_NAMES, labels=METRIC_LABELS, group="view", flag=None),
    Setting("cmp_executor", str, "local", None, "cmp_executor", "Run on",
            "Every row runs at one thread, so each place gives the same numbers. A pool runs a row per free core at "
            "once (progress per row, not per batch); on a server shared by a class, this process leaves the other "
            "cores to the others.", kind="select", choices=EXECUTORS,
            group="view", flag=None,  # not in links: what runs where is this server's business
            labels={"local": "this server process (one row at a time)", "process": "a process pool (the free cores)",
                    "ray": "Ray (RAY_ADDRESS, or a local Ray)"}),
    Setting("unit_rule", str, _d(UnitConfig, "method"), "units_rule", "d_rule", "Which units go", kind="select",
            config="units", attr="method", group="deploy", flag=None),  # choices follow the unit-rule registry
    Setting("unit_fraction", float, _d(UnitConfig, "fraction"), "units", "d_units",
            "Units removed from each layer (%)", "The units with the smallest L2 norm of all their weights go first.",
            kind="slider", bounds=(0.0, 0.95), step=5, scale=100,
            config="units", attr="fraction", group="deploy", flag=None),
    Setting("unit_sensitivity", float, _d(UnitConfig, "sensitivity"), "units_s", "d_s",
            "Threshold s (× std of the unit norms)",
            "Per layer, units whose norm is below s × std(unit norms) go, keeping at least a fraction k.", kind="slider", bounds=(0.0, 5.0), step=0.05, config="units",
            attr="sensitivity", group="deploy", flag=None),
    Setting("unit_floor", float, _d(UnitConfig, "floor"), "units_k", "d_floor", "Floor k",
            "Keep at least this fraction of each layer's units.", kind="number",
            bounds=(0.001, 1.0), step=0.01, config="units", attr="floor", group="deploy", flag=None),
    Setting("unit_ft_epochs", int, RUN_FINETUNE_EPOCHS, "units_ft", "d_ft_epochs", "Fine-tune epochs",
            "Retrain the smaller network once after the removal (0: measure it as removed).",
            bounds=(0, 100), step=1, group="deploy", flag=None),
)}


def _follow_registries() -> None:
    """The settings that list rules offer every registered one, also one registered after this module was imported:
    the method (rules a slider can drive: a threshold or a sparsity; the gradual ones run on the Compare page), the
    Trade-offs methods, Compare's methods (every registry of study.methods) and Deploy's unit rules."""
    drivable = tuple(name for name, spec in RULES.items() if spec.control in ("sensitivity", "sparsity"))
    described = "\n\n".join(f"**{RULES[n].label}**: {RULES[n].description}" for n in drivable)
    short = {n: RULES[n].label.split(" (")[0] for n in drivable}  # the full label is in the help
    SETTINGS["method"] = replace(SETTINGS["method"], choices=drivable, help=described, labels=short)
    SETTINGS["to_methods"] = replace(SETTINGS["to_methods"], choices=drivable, help=described, labels=short,
                                     default=tuple(m for m in ("sensitivity", "magnitude", "random") if m in drivable)
                                     or drivable[:1])
    methods = tuple(known_methods())
    SETTINGS["cmp_methods"] = replace(SETTINGS["cmp_methods"], choices=methods,
                                      labels={m: method_label(m) for m in methods},
                                      help="\n\n".join(f"**{method_label(m)}**: {method_help(m)}" for m in methods))
    SETTINGS["cell"] = replace(SETTINGS["cell"], choices=tuple(CELLS), labels={n: c.label for n, c in CELLS.items()})
    SETTINGS["unit_rule"] = replace(SETTINGS["unit_rule"], choices=tuple(UNIT_RULES),
                                    labels={n: r.label for n, r in UNIT_RULES.items()},
                                    help="\n\n".join(f"**{r.label}**: {r.description}" for r in UNIT_RULES.values()))


for _registry in (RULES, GRADUAL, TRAINED, UNIT_RULES, CELLS):
    _registry.on_change(_follow_registries)
CONFIGS = {"windows": WindowConfig, "model": ModelConfig, "train": TrainConfig, "prune": PruneConfig,
           "units": UnitConfig, "compare": CompareConfig}
URL_KEYS = tuple(s.url for s in SETTINGS.values() if s.url)
VIEWS = tuple(n for n, s in SETTINGS.items() if s.group in ("view", "compare", "deploy"))  # what a page shows
WIDGET_KEYS = tuple(s.widget for s in SETTINGS.values() if s.widget)
TRAINING_GROUPS = ("data", "model", "training")  # what the dense model's weights depend on


def engine_config(name: str, values: Mapping[str, Any], **extra):
    """The engine's config `name` ("windows", "model", "train", "prune", "units", "compare") from setting values
    keyed by the table's names: each row's `config`/`attr` columns say where its value goes. The app's states and
    the command line's flags both build their configs here, so a row added to the table reaches both."""
    fields_ = {s.attr or s.name: values[s.name] for s in SETTINGS.values() if s.config == name and s.name in values}
    if "scope" in fields_ and isinstance(fields_["scope"], str):
        fields_["scope"] = Scope.parse(fields_["scope"])
    return CONFIGS[name](**{**fields_, **extra})


class _Configs:
    """The engine's configs for a state, each built from the table's `config`/`attr` columns."""

    def _config(self, name: str, cls, **extra):
        return engine_config(name, {s: getattr(self, s) for s in SETTINGS}, **extra)

    @property
    def control(self) -> str:
        """'sensitivity' or 'sparsity': which value the method's slider moves."""
        return RULES[self.method].control

    def window_config(self) -> WindowConfig:
        return self._config("windows", WindowConfig)

    def model_config(self) -> ModelConfig:
        return self._config("model", ModelConfig)

    def train_config(self) -> TrainConfig:
        return self._config("train", TrainConfig)

    def finetune_config(self) -> TrainConfig:
        """Fine-tuning: the same settings as training, for `finetune_epochs` epochs (a fresh Adam)."""
        return finetune_config(self.train_config(), self.finetune_epochs)

    def prune_config(self) -> PruneConfig:
        return self._config("prune", PruneConfig)

    def training_key(self) -> tuple:
        """What the dense model depends on: equal keys mean the same trained model."""
        return (self.sample, self.window_config(), self.model_config(), self.train_config())

    def __post_init__(self):
        try:  # one spelling per scope, so equal states compare equal ("hh:update,hh:reset" -> "hh:reset,hh:update")
            object.__setattr__(self, "scope", Scope.parse(self.scope).to_text())
        except ScgruError:
            pass  # left as given; the URL parser never produces an invalid scope

    def updated(self, **changes):
        """A copy with `changes` applied; a value no widget could show is ignored (as a link's would be)."""
        good = {}
        for name, value in changes.items():
            try:
                good[name] = _checked(SETTINGS[name], value)
            except (ValueError, TypeError, ScgruError):
                continue
        return replace(self, **good)

    def changes_from(self, before: "LabState") -> list[str]:
        """What differs from `before`, in words ("Cell: GRU (was LSTM)"), the step and the views left out: what a
        person is told when a button changes the app for them."""
        out = []
        for f in fields(self):
            s, now, then = SETTINGS[f.name], getattr(self, f.name), getattr(before, f.name)
            if now == then or f.name == "step" or f.name in VIEWS or not s.label:
                continue
            def show(v, s=s):
                if s.type is tuple:
                    return ", ".join(s.label_of(x) for x in v)
                return f"{s.to_widget(v)}%" if s.scale == 100 else s.label_of(v)
            out.append(f"{s.label.split(' (')[0]}: {show(now)} (was {show(then)})")
        return out

    def to_query(self, changed_only: bool = False) -> dict[str, str]:
        """The state as query parameters (the settings a link carries: `url` set): all of them, or only those that
        differ from the sample's defaults (the sample is always included)."""
        base = type(self).for_sample(self.sample)
        return {SETTINGS[f.name].url: as_text(getattr(self, f.name)) for f in fields(self)
                if SETTINGS[f.name].url and (not changed_only or f.name == "sample"
                                             or getattr(self, f.name) != getattr(base, f.name))}

    def to_link(self) -> dict[str, str]:
        """The state as a link writes it: every setting of the model and its pruning, so a link opens the same model
        even after the lab's defaults change (all but the slider the method is not driven by, which is not part of
        the state); a page's view only where it differs from its default, so an address stays short."""
        unused = SETTINGS["sparsity" if self.control == "sensitivity" else "sensitivity"].url
        views = {SETTINGS[n].url for n in VIEWS if getattr(self, n) == getattr(DEFAULTS, n)}
        return {k: v for k, v in self.to_query().items() if k != unused and k not in views}

    def units_config(self) -> UnitConfig:
        """Deploy's structured rule."""
        return self._config("units", UnitConfig)

    def compare_train_config(self) -> TrainConfig:
        """The training every compared method gets: this state's, for Compare's E epochs, early stopping off so
        every method has the same budget (the seed is each row's own)."""
        return replace(self.train_config(), epochs=self.cmp_epochs, patience=0)

    def compare_configs(self) -> list:
        """Compare's runs, one CompareConfig per chosen scope, from every setting of the table: the model (cell
        included: the comparison refuses a gate variant with the engine's reason), the training (its epochs E and
        F from Compare's own, early stopping off so every method gets the same budget), seeds counted up from the
        training seed, the floor k and a global ranking from the Prune page."""
        prune = self.prune_config()
        return [self._config("compare", CompareConfig, seeds=tuple(range(self.seed, self.seed + self.cmp_seeds)),
                             scope=Scope.parse(scope), model=self.model_config(), train=self.compare_train_config(),
                             finetune_epochs=self.cmp_ft, floor=prune.floor, global_=prune.global_)
                for scope in self.cmp_scopes]

    @classmethod
    def for_sample(cls, sample: str = DEFAULT_SAMPLE, **changes):
        """The defaults for a sample (its own window), with `changes` applied."""
        key = sample if sample in SAMPLES else DEFAULT_SAMPLE
        return replace(cls(sample=key, window=SAMPLES[key].window), **changes)

    @classmethod
    def from_configs(cls, base=None, **configs):
        """`base` (default: the defaults) with the settings that these engine configs hold, e.g.
        `LabState.from_configs(windows=WindowConfig(...), model=..., train=...)`."""
        values = {}
        for s in SETTINGS.values():
            if s.config in configs and configs[s.config] is not None:
                value = getattr(configs[s.config], s.attr or s.name)
                values[s.name] = value.to_text() if isinstance(value, Scope) else value
        return replace(base if base is not None else cls(), **values)


def _checked(setting: Setting, value):
    return Scope.parse(str(value)).to_text() if setting.kind == "scope" else setting.check(value)


LabState = make_dataclass(
    "LabState", [(s.name, s.type, field(default=s.default)) for s in SETTINGS.values()], bases=(_Configs,),
    frozen=True, namespace={"__doc__": "Everything needed to rebuild what the app shows: one field per setting "
                                       "of the table (scgru_core.teach.settings.SETTINGS)."})
LabState.__module__ = __name__
DEFAULTS = LabState()


def check_state(state) -> None:
    """Raise ConfigError unless every field holds a value its widget can show (tests and the app's writes)."""
    for s in SETTINGS.values():
        try:
            _checked(s, getattr(state, s.name))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{s.label}: {getattr(state, s.name)!r} is not a value the app offers.") from exc
