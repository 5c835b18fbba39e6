"""SCGRU Pruning Lab engine: data, GRU forecaster, pruning rules, training, metrics, cost, runs.

No Streamlit and no Plotly here (figures live in `scgru_core.viz`); everything the app does
can be done from Python or `python -m scgru_core`.
"""
from .cost import Cost, Latency, measure_latency, model_cost
from .curves import BarGroup, Curve, Point, Reference
from .data import AUTO, LoadReport, ReadConfig, Series, load_series, read_table, series_from_frame
from .reading_apart import read_table_apart, reads_apart
from .errors import (CheckpointError, ColumnNotFoundError, ConfigError, ConstantSeriesError, DataError, DecodeError,
                     EmptyDataError, FileTooLargeError, NoNumericColumnError, NonFiniteValuesError, ScgruError,
                     SeriesTooShortError, TrainingDivergedError, UnsupportedFileTypeError)
from .evaluate import Evaluation, evaluate, evaluate_naive
from .executors import EXECUTORS, default_executor, make_executor
from .experiment import RunConfig, RunResult, finetune, rewind, run, train_dense
from .compare import CompareConfig, CompareResult, compare, known_methods
from .gradual import (GRADUAL, AgpPruner, AgpSchedule, GradualPlan, GradualResult, NarangPruner, NarangSchedule,
                      agp_curve, gradual_fit, narang_curve)
from .io import SavedRun, load_run, save_run
from .lab import GatePanel, PruningLab, Snapshot
from .metrics import METRIC_LABELS, METRIC_NAMES, Metrics
from .model import CELLS, GATES, Forecaster, ModelConfig, build_model, weight_names
from .pruning import (RULES, PruneConfig, PruneResult, Scope, SensitivityUnstructured, TaylorUnstructured, gate_views,
                      prune, sensitivity_for_sparsity)
from .saliency import taylor_scores
from .sweep import UNITS, structured_sweep, sweep, sweep_configs
from .training_queue import Ticket, TrainingCancelled, TrainingQueue
from .train import FINETUNE_LR, Callbacks, EpochLog, TrainConfig, TrainResult, finetune_config, fit
from .windows import Dataset, WindowConfig, prepare
from .units import UNIT_RULES, UnitConfig, UnitSelection, select_units
from .shrink import ShrinkResult, expand, shrink, shrink_and_finetune
from .deploy import DeploymentReport, measure_deployment
from .export import export_model, load_export

from . import threads

__version__ = "0.1.0"
