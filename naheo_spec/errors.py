"""Exceptions and warnings used across naheo_spec.

Every failure the package can foresee raises a subclass of :class:`NaheoError`;
every automatic repair or questionable result emits a subclass of
:class:`NaheoWarning`.  The CLI prints ``str(exc)`` for a ``NaheoError`` and exits
non-zero, so messages must name the file, the place and what was expected.
"""
from __future__ import annotations

from pathlib import Path


class NaheoError(Exception):
    """Base class of every error raised on purpose by naheo_spec."""


class InputError(NaheoError, ValueError):
    """A function argument is invalid (wrong shape, out of range, unknown option).

    Parameters
    ----------
    message : str
        What is wrong, naming the argument, the value given and what was expected.
    parameter : str, optional
        The keyword argument at fault (``"mu"``); the CLI names its own flag (``--mu``)
        instead when it reports the error.
    """

    def __init__(self, message: str = "", *, parameter: str | None = None):
        super().__init__(message)
        self.parameter = parameter


class ReadError(NaheoError):
    """A file could not be read as spectroscopy data.

    Parameters
    ----------
    path : str or Path or None
        The file that failed.
    problem : str
        What was wrong and what was expected.
    line : int, optional
        1-based line number where the problem was found.
    column : str or int, optional
        Column label or 1-based index involved.
    parameter : str, optional
        The reader keyword the message tells the user to pass (``"mu"``); the CLI names its
        flag (``--mu``) instead, as for :class:`InputError`.
    """

    def __init__(self, path: str | Path | None, problem: str, *, line: int | None = None,
                 column: str | int | None = None, parameter: str | None = None):
        self.path = None if path is None else str(path)
        self.parameter = parameter
        self.problem = problem
        self.line = line
        self.column = column
        where = []
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!s}")
        loc = f" ({', '.join(where)})" if where else ""
        prefix = f"{self.path}{loc}: " if self.path else (f"{', '.join(where)}: " if where else "")
        super().__init__(prefix + problem)


class ProcessingError(NaheoError):
    """A processing step cannot produce a meaningful number from this input."""


class FitError(ProcessingError):
    """A least-squares fit failed or its result is undefined."""


class CalibrationError(ProcessingError):
    """An energy or valence calibration cannot be built or applied."""


class StoreError(NaheoError):
    """The results store cannot be written or read."""


class NaheoWarning(UserWarning):
    """Base class of every warning emitted by naheo_spec.

    A warning emitted through :mod:`naheo_spec.diagnostics` carries its structured
    record: ``w.message.record`` (a :class:`~naheo_spec.diagnostics.WarningRecord`) and
    ``w.message.code`` (its stable code, e.g. ``"xas.foil.rejected"``). Branch on the
    code, never on the text.
    """

    def __init__(self, message="", record=None):
        super().__init__(message)
        self.record = record

    @property
    def code(self) -> str | None:
        """Stable code of the warning, or None for a warning emitted without a record."""
        return None if self.record is None else self.record.code


class RepairWarning(NaheoWarning):
    """Input data were repaired on read (sorted, de-duplicated, NaN rows dropped, keV→eV)."""


class DefaultAdjustedWarning(NaheoWarning):
    """A requested or default parameter was changed to fit the data (e.g. a range clipped)."""


class QualityWarning(NaheoWarning):
    """A result was computed but should not be trusted without a look (fit at a bound,
    sample outside calibration span, foil far from the tabulated edge, ...)."""
