"""Details of one parameter, buffer or module, for an inspector to draw (histograms, heatmap)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scratchai.engine.observe.probes import array_stats
from scratchai.engine.observe.records import GradShare, ModuleProbe, Stats
from scratchai.engine.views.model_index import ModelIndex
from scratchai.parameter import Parameter


@dataclass(frozen=True)
class Histogram:
    """``counts[i]`` values fell in ``[edges[i], edges[i+1])``; NaN/Inf are not counted."""

    counts: tuple[int, ...]
    edges: tuple[float, ...]


@dataclass(frozen=True)
class Inspection:
    """What an inspector shows for one path.

    Attributes:
        kind: 'parameter', 'buffer' or 'module'.
        owners: every dotted name of a parameter (several when shared).
        heatmap: a 2-D float64 copy of the values, block-averaged down to at most the
            settings' heatmap shape (1-D arrays become one row); None for modules.
        module: the module's probe from the last step (None before the first step).
        contributions: for a shared (or reused) parameter, what each owner and each call
            added to its gradient in the last step; they sum to the gradient.
    """

    kind: str
    path: str
    owners: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    size: int
    summary: Stats | None
    value_hist: Histogram | None
    grad_summary: Stats | None
    grad_hist: Histogram | None
    heatmap: np.ndarray | None
    module: ModuleProbe | None = None
    contributions: tuple[GradShare, ...] = ()


def histogram(array: np.ndarray, bins: int) -> Histogram:
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return Histogram((), ())
    counts, edges = np.histogram(finite, bins=bins)
    return Histogram(tuple(int(c) for c in counts), tuple(float(e) for e in edges))


def downsample(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Block means of a 2-D view of ``array`` so the result is at most ``shape`` (rows, cols).

    Args:
        array: any shape; 1-D becomes one row, >2-D is flattened to (shape[0], -1).
    """
    matrix = np.asarray(array, dtype=np.float64)
    matrix = matrix.reshape(1, -1) if matrix.ndim < 2 else matrix.reshape(matrix.shape[0], -1)
    rows, cols = matrix.shape
    row_step = -(-rows // shape[0])
    col_step = -(-cols // shape[1])
    out_rows, out_cols = -(-rows // row_step), -(-cols // col_step)
    padded = np.full((out_rows * row_step, out_cols * col_step), np.nan)
    padded[:rows, :cols] = matrix
    blocks = padded.reshape(out_rows, row_step, out_cols, col_step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN, visibly
        return np.nanmean(np.where(np.isfinite(blocks), blocks, np.nan), axis=(1, 3))


def inspect_array(
    kind: str,
    path: str,
    owners: tuple[str, ...],
    values: np.ndarray,
    grad: np.ndarray | None,
    bins: int,
    heatmap_shape: tuple[int, int],
) -> Inspection:
    return Inspection(
        kind=kind,
        path=path,
        owners=owners,
        shape=tuple(values.shape),
        dtype=str(values.dtype),
        size=int(values.size),
        summary=array_stats(values),
        value_hist=histogram(values, bins),
        grad_summary=None if grad is None else array_stats(grad),
        grad_hist=None if grad is None else histogram(grad, bins),
        heatmap=downsample(values, heatmap_shape) if values.size else None,
    )


def inspect_path(
    index: ModelIndex,
    path: str,
    probe: ModuleProbe | None,
    bins: int,
    heatmap_shape: tuple[int, int],
    shares: tuple[GradShare, ...] = (),
    grad_of: Callable[[Parameter], np.ndarray | None] = Parameter.peek_grad,
) -> Inspection:
    """Details of a parameter (any owner's name), buffer or module path of an indexed model.

    Args:
        probe: the module's probe from the last step, when ``path`` is a module.
        shares: the last step's gradient contributions of shared parameters.
        grad_of: a parameter's gradient as it should be shown (stepping layers through a
            backward: as it was at the layer shown); by default its gradient now.

    Raises:
        KeyError: no such path, with the valid kinds of path in the message.
    """
    param = index.parameter(path)
    if param is not None:
        grad = grad_of(param)
        owners = index.owners[id(param)]
        found = inspect_array("parameter", path, owners, param.data, grad, bins, heatmap_shape)
        mine = tuple(share for share in shares if share.param == owners[0])
        return dataclasses.replace(found, contributions=mine) if mine else found
    buf = index.buffer(path)
    if buf is not None:
        return inspect_array("buffer", path, (path,), buf, None, bins, heatmap_shape)
    info = index.module_info(path)
    if info is None:
        if any(stray == path for stray, _ in index.strays):
            raise KeyError(
                f"'{path}' is called in the forward but is not in the model's tree: see the "
                "'not registered' warning for where it hangs and the fix"
            )
        raise KeyError(f"'{path}' is neither a parameter, a buffer nor a module of the model")
    return Inspection(
        "module",
        path,
        (path,),
        probe.output_shape if probe else (),
        "",
        sum(p.size for p in info.params),
        probe.output if probe else None,
        None,
        None,
        None,
        None,
        probe,
    )
