"""Parameter: the atom of every network, an array marked as trainable."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


class Parameter:
    """A trainable array: ``.data`` holds the values, ``.grad`` the accumulated gradient.

    ``.grad`` always has the shape and dtype of ``.data``. After ``zero_grad()`` the gradient
    is zero; the zeros are materialised lazily so that the first backward can hand over its
    freshly computed array instead of adding it into a zero-filled one (one pass over memory
    fewer per step on large layers).

    Args:
        data: the initial values, any floating-point array. It is used as-is (no copy), as
            ``torch.nn.Parameter`` shares storage with the tensor it wraps.
        dtype: optional dtype to convert ``data`` to.
    """

    __slots__ = ("__weakref__", "_data", "_grad")

    def __init__(self, data: ArrayLike, dtype: DTypeLike | None = None) -> None:
        arr = np.asarray(data, dtype=dtype)
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(
                f"Parameter needs a floating-point array, got dtype {arr.dtype}; "
                "pass dtype=np.float32 or convert the values first"
            )
        self._data: np.ndarray = arr
        self._grad: np.ndarray | None = np.zeros(arr.shape, arr.dtype)

    @property
    def data(self) -> np.ndarray:
        """The values, shape ``self.shape``."""
        return self._data

    @data.setter
    def data(self, value: ArrayLike) -> None:
        arr = np.asarray(value)
        if arr.shape != self._data.shape:
            raise ValueError(
                f"cannot set Parameter.data of shape {self._data.shape} to an array of shape "
                f"{arr.shape}; a parameter keeps its shape (create a new Parameter instead)"
            )
        self._data = arr.astype(self._data.dtype, copy=False)

    @property
    def grad(self) -> np.ndarray:
        """The accumulated gradient, same shape and dtype as ``data``."""
        grad = self._grad
        if grad is None:
            grad = self._grad = np.zeros(self._data.shape, self._data.dtype)
        return grad

    @grad.setter
    def grad(self, value: ArrayLike) -> None:
        arr = np.asarray(value)
        if arr.shape != self._data.shape:
            raise ValueError(
                f"gradient of shape {arr.shape} does not match parameter shape {self._data.shape}"
            )
        self._grad = arr.astype(self._data.dtype, copy=True)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def size(self) -> int:
        return self._data.size

    def peek_grad(self) -> np.ndarray | None:
        """The gradient, or None from ``zero_grad()`` until a backward adds into it (``.grad``
        reads as zeros meanwhile). Unlike ``.grad`` it never allocates, so reading it changes
        nothing (a debugger looks at a gradient without making one)."""
        return self._grad

    def zero_grad(self) -> None:
        """Reset the gradient to zero (lazily: no memory pass until it is read or added to)."""
        self._grad = None

    def accumulate_grad(self, value: np.ndarray) -> None:
        """Add ``value`` into ``.grad``.

        Args:
            value: the gradient contribution, exactly ``self.shape`` (no broadcasting: a
                mismatch is a bug in the caller's backward). It must be a fresh array the caller
                does not keep, because after ``zero_grad()`` it becomes ``.grad`` itself.
        """
        data = self._data
        if value.shape != data.shape:
            raise ValueError(
                f"gradient contribution of shape {value.shape} does not match parameter shape "
                f"{data.shape}"
            )
        if value.dtype is not data.dtype and value.dtype != data.dtype:  # `is`: the common case
            value = value.astype(data.dtype)
        if self._grad is None:
            self._grad = value
        else:
            self._grad += value

    def __repr__(self) -> str:
        return f"Parameter(shape={self._data.shape}, dtype={self._data.dtype})"
