"""XDI (XAS Data Interchange) files.

Rules applied here, beyond the specification:

- Field names are case-insensitive (``Beamline.Name`` and ``Beamline.name`` are the
  same field) and are stored lower-cased in ``Spectrum.metadata``.
- Column labels come from ``Column.N``; when the last comment line before the data
  names more columns than ``Column.N`` declares (CERIC/Demeter files carry an
  undeclared ``murefer``), the extra labels are taken from that line.
- μ: a ``mutrans``/``mu``/``mufluor`` column, else ln(i0/itrans), else ifluor/i0;
  reference: ``murefer``, else ln(itrans/irefer). User expressions override both.
- CRLF line ends and ``#XDI/`` without a space are accepted.

References
----------
XDI specification 1.0, https://github.com/XraySpectroscopy/XAS-Data-Interchange
(spec/xdi_spec.pdf); M. Newville et al., "XDI", J. Synchrotron Rad. (2016).
"""
from __future__ import annotations

import re
from typing import Any

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import DefaultAdjustedWarning, ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.text import column_names, parse_block
from naheo_spec.model import Spectrum, XasAcquisition
from naheo_spec.xas.readers.columns import assemble_spectrum, select_signals

KEV_DECLARED = WarningCode("xas.read.kev_declared", DefaultAdjustedWarning,
                           "The XDI header declares the energy column in keV; converted to eV.")

_FIELD = re.compile(r"^([A-Za-z_][\w]*\.[\w.\-]+)\s*:\s?(.*)$")
_VERSION = re.compile(r"^\s*#\s*(XDI/[\w.]+)\s*(.*)$", re.I)


def parse_xdi_header(header: list[str]) -> tuple[dict[str, str], dict[int, tuple[str, str]], list[str]]:
    """Split XDI header lines into fields, declared columns and free comments.

    Parameters
    ----------
    header : list of str
        The lines before the data (first one is ``# XDI/1.0 ...``).

    Returns
    -------
    fields : dict
        Lower-cased ``namespace.tag`` -> value (string), plus ``xdi_version`` and
        ``xdi_applications`` from line 1.
    columns : dict of int to (label, unit)
        Declared ``Column.N`` entries.
    comments : list of str
        Free-text lines between ``# ///`` and the ``#----`` separator.
    """
    fields: dict[str, str] = {}
    columns: dict[int, tuple[str, str]] = {}
    comments: list[str] = []
    m = _VERSION.match(header[0]) if header else None
    if m:
        fields["xdi_version"] = m.group(1)
        if m.group(2).strip():
            fields["xdi_applications"] = m.group(2).strip()
    in_comments = False
    for line in header[1:]:
        s = line.strip()
        body = s.lstrip("#").strip()
        if body.startswith("///"):
            in_comments = True
            continue
        if body.startswith("---") and set(body) <= {"-"}:
            break
        if in_comments:
            comments.append(body)
            continue
        fm = _FIELD.match(body)
        if not fm:
            comments.append(body)
            continue
        key, value = fm.group(1).lower(), fm.group(2).strip()
        cm = re.match(r"column\.(\d+)$", key)
        if cm:
            parts = value.split(None, 1)
            if parts:
                columns[int(cm.group(1))] = (parts[0], parts[1].strip() if len(parts) > 1 else "")
            continue
        fields[key] = value
    return fields, columns, comments


def _scalar(text: str) -> Any:
    """'3' -> 3, '0.6' -> 0.6, 'True' -> True, anything else unchanged."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _user_meta(fields: dict[str, str]) -> dict[str, Any]:
    """``Meta.<key>`` fields (where :func:`naheo_spec.io.writers.write_xdi` puts metadata that
    has no XDI namespace) also exposed as plain ``<key>`` (lower case, XDI keys being
    case-insensitive) with numbers and booleans parsed, so that e.g. ``state_of_charge``
    and ``synthetic`` survive an XDI round trip."""
    return {k[5:]: _scalar(v) for k, v in fields.items()
            if k.startswith("meta.") and k[5:] and k[5:] not in fields}


def _labels(declared: dict[int, tuple[str, str]], line_words: list[str] | None, ncols: int,
            path) -> tuple[list[str | None], list[str]]:
    nmax = max(declared) if declared else 0
    if nmax > ncols:
        raise ReadError(path, f"header declares Column.{nmax} but data rows have {ncols} values")
    labels: list[str | None] = []
    undeclared: list[str] = []
    for i in range(ncols):
        if i + 1 in declared:
            labels.append(declared[i + 1][0])
        elif line_words is not None and len(line_words) == ncols:
            labels.append(line_words[i])
            undeclared.append(line_words[i])
        else:
            labels.append(None)
    return labels, undeclared


def _measurement_mode(fields: dict[str, str], mu_used: str | None) -> str | None:
    text = " ".join(str(v).lower() for k, v in fields.items() if k.startswith("column.")) + \
        " " + str(mu_used or "").lower()
    if "fluor" in text or "if/" in text:
        return "fluorescence"
    if "trans" in text or "i0/it" in text:
        return "transmission"
    return None


def read_xdi(probe, *, mu: str | None = None, ref: str | None = None) -> list[Spectrum]:
    """Read an XDI file.

    Parameters
    ----------
    probe : Probe
        The file.
    mu, ref : str, optional
        Expressions over the column labels (``"ln(i0/itrans)"``); ``ref="none"``
        drops the reference. Default None: see the module docstring.

    Returns
    -------
    list of Spectrum
        One spectrum, format ``"xdi"``, metadata = the lower-cased header fields plus
        ``xdi_comments``; the header verbatim in ``Spectrum.header``.

    Raises
    ------
    ReadError
        Header declaring more columns than the data have, no data, unequal rows,
        bad expression.
    """
    path = probe.path
    lines = probe.text.splitlines()
    block = parse_block(lines, path)
    fields, declared, comments = parse_xdi_header(block.header)
    ncols = block.data.shape[1]
    line_words = block.labels
    labels, undeclared = _labels(declared, line_words, ncols, path)
    names = column_names(labels, ncols)
    cols = {n: block.data[:, i] for i, n in enumerate(names)}
    data_names = list(cols)
    energy_idx = next((i for i, n in enumerate(names) if n.startswith("energy")), 0)
    kev = energy_idx + 1 in declared and declared[energy_idx + 1][1].lower() == "kev"
    if kev:
        cols[names[energy_idx]] = cols[names[energy_idx]] * 1000.0
    sel = select_signals(cols, mu=mu, ref=ref, path=path, explain_guess=False)
    notes = list(sel.warnings)
    if kev:
        notes.append(KEV_DECLARED.record(f"{path}: energy column declared in keV; converted to eV"))
    for rec in notes:
        rec.emit(stacklevel=3)
    metadata: dict[str, Any] = dict(fields)
    metadata.update(_user_meta(fields))
    if comments:
        metadata["xdi_comments"] = "\n".join(comments)
    metadata["column_labels"] = " ".join(data_names)
    if undeclared:
        metadata["xdi_undeclared_columns"] = " ".join(undeclared)
        sel.columns["undeclared"] = " ".join(undeclared)
    acq = XasAcquisition(measurement_mode=_measurement_mode(fields, sel.columns.get("mu")),
                         beamline=fields.get("beamline.name"))
    return [assemble_spectrum(path=path, sha256=probe.sha256, fmt="xdi", energy=sel.energy,
                              mu=sel.mu, reference=sel.reference, columns=sel.columns,
                              metadata=metadata, element=fields.get("element.symbol"),
                              edge=fields.get("element.edge"), notes=notes,
                              header="\n".join(block.header), acquisition=acq)]


_XDI_LINE1 = re.compile(r"^\ufeff?\s*#\s*XDI/", re.I)


def sniff_xdi(probe) -> float:
    """0.95 when the first line starts with ``# XDI/``."""
    text = probe.head_text
    return 0.95 if text and _XDI_LINE1.match(text.split("\n", 1)[0]) else 0.0


FORMAT = FormatSpec(name="xdi", technique="xas",
                    description="XAS Data Interchange text (XDI 1.0): mu, reference foil, header "
                                "fields",
                    sniff=sniff_xdi, read=read_xdi, extensions=("xdi",), options=("mu", "ref"))
