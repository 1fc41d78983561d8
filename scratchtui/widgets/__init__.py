"""The debugger's panels; each is built as ``Widget(stepper)`` and follows it via
``refresh_from(stepper)`` and ``highlight(path)``."""

from .charts import LossCharts
from .inspector import Inspector
from .layer_table import LayerTable
from .module_tree import ModuleTree

__all__ = ["Inspector", "LayerTable", "LossCharts", "ModuleTree"]
