"""Matrix text of Raman series and maps without a vendor header.

The first row holds the shifts after ``k`` empty fields; every further row holds ``k``
coordinates and the intensities (RamanLab/WiRE map exports: ``k = 2``, X and Y; series:
``k = 1``). Coordinates are named ``x``, ``y`` for ``k = 2`` and ``coordinate`` for
``k = 1`` (no header says what it is; rename or join a CSV with ``--coordinates``). When
x and y form a full grid the stack's ``map_shape`` is set
(:func:`~naheo_spec.raman.textparse.map_grid_shape`).
"""
from __future__ import annotations

from naheo_spec.errors import ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.model import SourceInfo, SpectrumStack
from naheo_spec.raman.textparse import (
    data_lines,
    fix_decimal_commas,
    is_matrix_header,
    order_stack_axis,
    map_grid_shape,
    parse_matrix,
)

__all__ = ["FORMAT", "read_matrix"]


def read_matrix(probe) -> list[SpectrumStack]:
    """Read a matrix layout (see module doc) into one stack.

    Raises
    ------
    ReadError
        Truncated or non-numeric rows (with the line), fewer than 5 shifts.
    """
    path = probe.path
    lines = probe.text.splitlines()
    header, rows = data_lines(lines)
    rows, comma = fix_decimal_commas(rows, path)
    if not rows or not is_matrix_header(rows[0]):
        raise ReadError(path, "not a matrix layout (first row must be empty field(s) then shifts)")
    mat = parse_matrix(rows, path, first_line=len(header) + 1)
    axis, signals, notes = order_stack_axis(mat.axis, mat.signals, path)
    if mat.n_coords == 2:
        names, units = ["x", "y"], {"x": "um", "y": "um"}
    else:
        names = ["coordinate"] if mat.n_coords == 1 else [f"c{j}" for j in range(mat.n_coords)]
        units = {}
    coords = {n: mat.coords[:, j] for j, n in enumerate(names)}
    return [SpectrumStack(axis, signals, axis_kind="raman_shift", signal_label="intensity",
                          coordinates=coords, coordinate_units=units,
                          map_shape=map_grid_shape(coords),
                          header="\n".join(header) or None,
                          metadata={"layout": f"matrix with {mat.n_coords} coordinate column(s)"},
                          source=SourceInfo(path=path, sha256=probe.sha256, format="raman-matrix",
                                            columns={"coordinates": ",".join(names)}),
                          warnings=tuple(([comma] if comma else []) + notes))]


def _sniff(probe) -> float:
    text = probe.head_text
    if not text:
        return 0.0
    for ln in text.splitlines()[:200]:
        if ln.strip() and not ln.startswith("#"):
            return 0.7 if is_matrix_header(ln) else 0.0
    return 0.0


FORMAT = FormatSpec(name="raman-matrix", technique="raman",
                    description="matrix text of a Raman series or map: first row of shifts after "
                                "empty field(s), then coordinates (X, Y or time) and intensities "
                                "per row",
                    sniff=_sniff, read=read_matrix, extensions=("txt", "csv"),
                    aliases=("raman-map", "matrix"))
