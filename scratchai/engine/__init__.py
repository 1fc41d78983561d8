"""The step-through training engine: the lesson's state machine, probes, rules and rewind.

NumPy only, like the rest of scratchai: the headless runner and the TUI both drive it.
"""

from scratchai.engine.experiment import (
    Experiment,
    ExperimentError,
    list_demos,
    load_demo,
    load_experiment_file,
    reload_experiment_file,
)
from scratchai.engine.observe.records import (
    BATCH_PHASES,
    REMEDY_ACTIONS,
    Advance,
    BufferProbe,
    EpochRecord,
    GradShare,
    Granularity,
    LayerEvent,
    ModuleProbe,
    ParamProbe,
    Remedy,
    RuleWarning,
    Severity,
    State,
    Stats,
    StepRecord,
)
from scratchai.engine.settings import RULE_BREAKPOINTS, Breakpoints, Settings
from scratchai.engine.stepper import StepFailed, StepInterrupted, Stepper
from scratchai.engine.views.flow import Flow, FlowGroup, FlowLoss, FlowNode, FlowParam
from scratchai.engine.views.inspect import Histogram, Inspection
from scratchai.engine.views.module_info import BufferInfo, ModuleInfo, ParamInfo

__all__ = [
    "BATCH_PHASES",
    "REMEDY_ACTIONS",
    "RULE_BREAKPOINTS",
    "Advance",
    "Breakpoints",
    "BufferInfo",
    "BufferProbe",
    "EpochRecord",
    "Experiment",
    "ExperimentError",
    "Flow",
    "FlowGroup",
    "FlowLoss",
    "FlowNode",
    "FlowParam",
    "GradShare",
    "Granularity",
    "Histogram",
    "Inspection",
    "LayerEvent",
    "ModuleInfo",
    "ModuleProbe",
    "ParamInfo",
    "ParamProbe",
    "Remedy",
    "RuleWarning",
    "Settings",
    "Severity",
    "State",
    "Stats",
    "StepFailed",
    "StepInterrupted",
    "StepRecord",
    "Stepper",
    "list_demos",
    "load_demo",
    "load_experiment_file",
    "reload_experiment_file",
]

#: The earlier name of ``RuleWarning``, kept for code written against it (imported, it hid the
#: builtin ``Warning``, hence the new name; not in ``__all__``).
Warning = RuleWarning
