"""Losses: ``loss = crit(output, targets)`` returns a Python float; ``crit.backward()`` returns
the gradient of that loss with respect to the output ("loss computed scalar, dlogits ready").

Losses are Modules without parameters, so hooks and ``no_grad`` apply to them as to layers.
"""

from __future__ import annotations

import numpy as np

from .errors import ShapeError
from .module import Module


class CrossEntropyLoss(Module):
    """Mean cross-entropy of softmax(logits) against integer class targets.

    ``loss = mean_i(logsumexp(logits_i) - logits_i[targets_i])``, computed from logits shifted by
    their row maximum, so logits of ±1e4 neither overflow nor lose the answer.
    """

    formula = "softmax + cross-entropy"

    needs_class_labels = True  # targets: (batch,) integer class indices, checked up front

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        """logits: (batch, classes) floats; targets: (batch,) integers in [0, classes) -> loss."""
        logits = np.asarray(logits)
        targets = np.asarray(targets)
        if logits.ndim != 2:
            raise ShapeError(f"expected logits of shape (batch, classes), got {logits.shape}")
        # dtype.kind is a cheap test (this runs every step): 'f' float, 'i'/'u' integer
        if logits.dtype.kind != "f":
            raise ValueError(f"expected floating-point logits, got dtype {logits.dtype}")
        if targets.dtype.kind not in "iu":
            raise ValueError(
                f"expected integer class indices as targets, got dtype {targets.dtype}; "
                "convert labels with targets.astype(np.int64) (one-hot targets are not supported)"
            )
        batch, classes = logits.shape
        if targets.shape != (batch,):
            raise ShapeError(
                f"expected targets of shape ({batch},) to match logits of shape {logits.shape}, "
                f"got {targets.shape}"
            )
        if batch == 0:
            raise ShapeError("expected a non-empty batch, got logits of shape (0, classes)")
        # One reduction checks both bounds: seen as unsigned, a negative target is huge.
        if _as_unsigned(targets).max() >= classes:
            bad = int(np.flatnonzero((targets < 0) | (targets >= classes))[0])
            raise ValueError(
                f"target at index {bad} is {int(targets[bad])}, outside the valid class range "
                f"[0, {classes}) for logits with {classes} classes"
            )
        shifted = logits - logits.max(axis=1, keepdims=True)
        rows = _rows(batch)
        picked = float(shifted[rows, targets].sum())
        exp = np.exp(shifted, out=shifted)  # in place: shifted is not needed any more
        sum_exp = exp.sum(axis=1, keepdims=True)
        loss = float(np.log(sum_exp).sum() - picked) / batch
        self.save_for_backward(exp, sum_exp, rows, targets)
        return loss

    def backward(self, grad_output: float = 1.0) -> np.ndarray:
        """grad_output: optional scale of the loss -> dlogits: (batch, classes), logits' dtype.

        ``dlogits = (softmax(logits) - one_hot(targets)) / batch``.
        """
        exp, sum_exp, rows, targets = self.saved_for_backward()
        grad = np.divide(exp, sum_exp, out=exp)  # softmax, in the forward's own array
        grad[rows, targets] -= 1.0
        grad *= float(grad_output) / len(rows)
        return grad


_ROWS: dict[int, np.ndarray] = {}


def _rows(batch: int) -> np.ndarray:
    """``np.arange(batch)``, made once per batch size (read-only: it is shared)."""
    rows = _ROWS.get(batch)
    if rows is None:
        rows = _ROWS[batch] = np.arange(batch)
        rows.setflags(write=False)
    return rows


def _as_unsigned(targets: np.ndarray) -> np.ndarray:
    """The same integers seen as unsigned (no copy): negative values become >= 2**(bits-1)."""
    if targets.dtype.kind == "u":
        return targets
    return targets.view(_UNSIGNED[targets.dtype.itemsize])


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


class MSELoss(Module):
    """Mean squared error ``mean((pred - target)**2)`` over every element."""

    formula = "mean((pred − target)²)"

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """pred: any shape, e.g. (batch, outputs); target: the same shape -> loss."""
        pred = np.asarray(pred)
        target = np.asarray(target)
        if target.shape != pred.shape:
            raise ShapeError(
                f"expected target of shape {pred.shape} (the prediction's), got {target.shape}"
            )
        if not np.issubdtype(pred.dtype, np.floating):
            raise ValueError(f"expected a floating-point prediction, got dtype {pred.dtype}")
        if pred.size == 0:
            raise ShapeError(f"expected a non-empty prediction, got shape {pred.shape}")
        if target.dtype != pred.dtype:
            target = target.astype(pred.dtype)
        diff = pred - target
        self.save_for_backward(diff)
        return float(np.vdot(diff, diff)) / diff.size

    def backward(self, grad_output: float = 1.0) -> np.ndarray:
        """grad_output: optional scale of the loss -> dpred: pred's shape and dtype."""
        (diff,) = self.saved_for_backward()
        return diff * (2.0 * float(grad_output) / diff.size)
