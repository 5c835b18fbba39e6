"""SCGRU Pruning Lab engine: everything the app does, from Python or `python -m scgru_core`; no Streamlit anywhere,
Plotly only in `viz`. The rooms, from the bottom up (each imports only rooms listed before it):

- `errors`, `threads`, `registry`: typed refusals; how many CPU threads torch uses; the one registry mechanism.
- `data/`: a file to a validated series (tables, times, numbers, reading in a process apart), samples, windows.
- `net/`: the forecaster and its cells, masks (the one place they are applied), training with masks held, its
  budget, evaluation, metrics, cost, quantize.
- `serve/`: what one server shares between sessions, knowing nothing of rules: the model and snapshot caches,
  the training line, background threads.
- `pruning/`: the rules and their masks, saliency, gradual schedules, the sensitivity analysis, the live lab.
- `deploy/`: unit removal (units, shrink), sparse execution, exports, the side-by-side measurement.
- `store/`: run directories and zips, shipped checkpoints, uploaded files, a model brought from elsewhere.
- `study/`: one experiment, sweeps, comparisons, the study and its report, executors (local, pool, Ray).
- `teach/`: the settings table, links, the lesson and its maths, "Show code".
- `classroom/`: a class's shared state (answers, thresholds, a challenge) in SQLite, for every server process.
- `viz/`: every figure builder (Plotly).
- `cli/`: one module per `python -m scgru_core` command.

The names below are the public API the README uses; everything else is imported from its module.
"""
from scgru_core.net.cost import Cost, Latency, measure_latency, model_cost
from scgru_core.study.curves import BarGroup, Curve, Point, Reference
from scgru_core.data.reading import AUTO, LoadReport, ReadConfig, Series, load_series, series_from_frame
from scgru_core.data.tables import read_table
from scgru_core.data.reading_apart import read_table_apart, reads_apart
from scgru_core.errors import (CheckpointError, ColumnNotFoundError, ConfigError, ConstantSeriesError, DataError,
                               DecodeError, EmptyDataError, FileTooLargeError, NoNumericColumnError,
                               NonFiniteValuesError, ScgruError, SeriesTooShortError, TrainingDivergedError,
                               UnsupportedFileTypeError)
from scgru_core.net.evaluate import Evaluation, evaluate, evaluate_naive
from scgru_core.study.executors import EXECUTORS, default_executor, make_executor
from scgru_core.study.experiment import RunConfig, RunResult, finetune, rewind, run, train_dense
from scgru_core.study.compare import CompareConfig, CompareResult, compare
from scgru_core.study.methods import known_methods
from scgru_core.pruning.gradual import (GRADUAL, AgpPruner, AgpSchedule, GradualPlan, GradualResult, NarangPruner,
                                        NarangSchedule, agp_curve, gradual_fit, narang_curve)
from scgru_core.store.runs import SavedRun, load_run, save_run
from scgru_core.pruning.lab import GatePanel, PruningLab, Snapshot
from scgru_core.net.metrics import METRIC_LABELS, METRIC_NAMES, Metrics
from scgru_core.net.cells import CELLS, GATES
from scgru_core.net.model import Forecaster, ModelConfig, build_model, weight_names
from scgru_core.pruning.rules import (RULES, PruneConfig, PruneResult, SensitivityUnstructured, TaylorUnstructured,
                                      prune, sensitivity_for_sparsity)
from scgru_core.pruning.scopes import Scope
from scgru_core.pruning.saliency import taylor_scores
from scgru_core.study.sweep import UNITS, structured_sweep, sweep, sweep_configs
from scgru_core.serve.training_queue import Ticket, TrainingCancelled, TrainingQueue
from scgru_core.net.train import FINETUNE_LR, Callbacks, EpochLog, TrainConfig, TrainResult, finetune_config, fit
from scgru_core.data.windows import Dataset, WindowConfig, prepare
from scgru_core.deploy.units import UNIT_RULES, UnitConfig, UnitSelection, select_units
from scgru_core.deploy.shrink import ShrinkResult, expand, shrink, shrink_and_finetune
from scgru_core.deploy.measure import DeploymentReport, measure_deployment
from scgru_core.deploy.export import export_model, load_export
from scgru_core.store.brought import BroughtModel, brought_dataset, load_brought, read_brought

from scgru_core import threads

__version__ = "0.1.0"
