"""Recognise a spectroscopy file by its content, never by its extension.

Order of the checks (first match wins):

1. HDF5 signature ``\\x89HDF\\r\\n\\x1a\\n`` in the first 8 bytes -> ``"nexus"``.
2. gzip signature ``\\x1f\\x8b``: decompressed, then it must be an Athena project
   (``# Athena project file`` header, perl-style or JSON) -> ``"athena"``.
3. Text (no NUL bytes, UTF-8 or mostly-ASCII Latin-1):

   - an Athena project in plain text (first line ``# Athena project file``, or a
     JSON object whose first 500 characters hold ``Athena project file``) -> ``"athena"``;
   - ``# XDI/`` or ``#XDI/`` on line 1 -> ``"xdi"``;
   - anything else -> ``"ascii"`` (column data).

Anything else is binary junk and raises :class:`~naheo_spec.errors.ReadError`.
"""
from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from naheo_spec.errors import ReadError
from naheo_spec.provenance import bytes_sha256

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
GZIP_MAGIC = b"\x1f\x8b"
FORMATS = ("xdi", "ascii", "athena", "nexus")
_FORMAT_ALIASES = {"hdf5": "nexus", "h5": "nexus", "nxs": "nexus", "prj": "athena",
                   "column": "ascii", "txt": "ascii", "csv": "ascii", "dat": "ascii"}
_XDI_LINE1 = re.compile(r"^\ufeff?\s*#\s*XDI/", re.I)
_ATHENA_MARK = "Athena project file"


@dataclass(frozen=True)
class Probe:
    """What :func:`probe_file` found.

    Attributes
    ----------
    path : str
        The file as given.
    format : str
        One of :data:`FORMATS`.
    text : str or None
        Decoded text (decompressed for gzip) for text formats; None for HDF5.
    sha256 : str or None
        SHA-256 of the file's bytes (None for HDF5, which the NeXus reader hashes).
    """

    path: str
    format: str
    text: str | None
    sha256: str | None


def normalize_format(fmt: str | None) -> str | None:
    """Map user spellings (``"hdf5"``, ``"prj"``...) to one of :data:`FORMATS`.

    Raises
    ------
    InputError
        Unknown format name.
    """
    if fmt is None:
        return None
    from naheo_spec.errors import InputError

    f = str(fmt).strip().lower()
    f = _FORMAT_ALIASES.get(f, f)
    if f not in FORMATS:
        raise InputError(f"format={fmt!r} is not known; expected one of {', '.join(FORMATS)} "
                         "or None (detect from the content)")
    return f


def decode_text(data: bytes, path: str) -> str:
    """Decode file bytes as text, rejecting binary content.

    UTF-16 with a byte-order mark is decoded as such; otherwise UTF-8 is tried
    (with or without BOM); old instrument files with a few
    Latin-1 characters (``°``, ``µ``) are accepted when they are mostly ASCII.

    Raises
    ------
    ReadError
        NUL bytes, or bytes that are neither UTF-8 nor mostly-ASCII text.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):   # UTF-16 with BOM (Windows exports)
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ReadError(path, "not a text or HDF5 file (broken UTF-16 text)") from exc
    head = data[:65536]
    if b"\x00" in head:
        raise ReadError(path, "not a text or HDF5 file (binary content: NUL bytes found)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    nonascii = sum(b > 127 for b in head)
    control = sum(b < 32 and b not in (9, 10, 12, 13) for b in head)
    if control or nonascii > 0.05 * max(len(head), 1):
        raise ReadError(path, "not a text or HDF5 file (bytes are not UTF-8 or Latin-1 text)")
    return data.decode("latin-1")


def _is_athena_text(text: str) -> bool:
    head = text[:600].lstrip("\ufeff \t\r\n")
    first = head.split("\n", 1)[0]
    if first.startswith("#") and _ATHENA_MARK in first:
        return True
    return head.startswith("{") and _ATHENA_MARK in head[:600]


def _gunzip(data: bytes, path: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ReadError(path, f"corrupt gzip data ({exc}); an Athena project (.prj) is a gzip "
                              "file, this one is truncated or damaged") from exc


def probe_file(path: str | Path, *, fmt: str | None = None) -> Probe:
    """Read a file's bytes once and decide its format from the content.

    Parameters
    ----------
    path : str or Path
        File to inspect.
    fmt : str, optional
        Force a format (``"xdi"``, ``"ascii"``, ``"athena"``, ``"nexus"``). Default
        is None: detect from the content.

    Returns
    -------
    Probe

    Raises
    ------
    ReadError
        Missing file, a directory, an empty file, binary junk, corrupt gzip, or a
        gzip file that is not an Athena project.
    """
    p = str(path)
    fmt = normalize_format(fmt)
    pth = Path(path)
    if not pth.exists():
        raise ReadError(p, "file not found")
    if pth.is_dir():
        raise ReadError(p, "is a directory, expected a data file")
    with open(pth, "rb") as fh:
        magic = fh.read(8)
        if fmt == "nexus" or (fmt is None and magic == HDF5_MAGIC):
            return Probe(p, "nexus", None, None)
        data = magic + fh.read()
    if not data.strip():
        raise ReadError(p, "file is empty")
    sha = bytes_sha256(data)
    if data[:2] == GZIP_MAGIC:
        text = decode_text(_gunzip(data, p), p)
        if fmt not in (None, "athena") or not _is_athena_text(text):
            raise ReadError(p, "gzip-compressed file that is not an Athena project; decompress it "
                               "first (gzip -d) to read it as column data")
        return Probe(p, "athena", text, sha)
    text = decode_text(data, p)
    if fmt is not None:
        return Probe(p, fmt, text, sha)
    if _is_athena_text(text):
        found = "athena"
    elif _XDI_LINE1.match(text.split("\n", 1)[0]):
        found = "xdi"
    else:
        found = "ascii"
    return Probe(p, found, text, sha)


def detect_format(path: str | Path) -> str:
    """Return the format of ``path`` (one of :data:`FORMATS`), judged by content.

    Raises
    ------
    ReadError
        As :func:`probe_file`.
    """
    return probe_file(path).format
