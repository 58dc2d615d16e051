"""A look at a file before any reader touches it: first bytes, text, hash.

:class:`Probe` reads a file lazily and at most once: the first 64 KiB for sniffing, the
whole content only when a reader asks for :attr:`Probe.data` or :attr:`Probe.text`, and the
SHA-256 either from those bytes or by streaming the file (HDF5 and other large binaries).
"""
from __future__ import annotations

import gzip
import zlib
from functools import cached_property
from pathlib import Path

from naheo_spec.errors import ReadError
from naheo_spec.provenance import bytes_sha256, file_sha256

__all__ = ["Probe", "decode_text", "HDF5_MAGIC", "GZIP_MAGIC"]

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 65536


def decode_text(data: bytes, path: str | None) -> str:
    """Decode file bytes as text, rejecting binary content.

    UTF-16 with a byte-order mark is decoded as such; otherwise UTF-8 is tried (with or
    without BOM); files with a few Latin-1 characters (``°``, ``µ``, ``cm-¹``) are accepted
    when they are mostly ASCII.

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
    head = data[:HEAD_BYTES]
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


class Probe:
    """Lazy view of one file for format detection and reading.

    Parameters
    ----------
    path : str or Path
        The file.

    Attributes
    ----------
    path : str
        The file as given.
    head : bytes
        The first 64 KiB (or the whole file when smaller).

    Raises
    ------
    ReadError
        Missing file, a directory, or an empty file.
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        p = Path(path)
        if not p.exists():
            raise ReadError(self.path, "file not found")
        if p.is_dir():
            raise ReadError(self.path, "is a directory, expected a data file")
        with open(p, "rb") as fh:
            self.head = fh.read(HEAD_BYTES)
        if not self.head.strip():
            raise ReadError(self.path, "file is empty")

    @property
    def extension(self) -> str:
        """Lower-case suffix without the dot (``"vms"``), ``""`` when none."""
        return Path(self.path).suffix.lower().lstrip(".")

    @property
    def is_hdf5(self) -> bool:
        return self.head[:8] == HDF5_MAGIC

    @property
    def is_gzip(self) -> bool:
        return self.head[:2] == GZIP_MAGIC

    @cached_property
    def data(self) -> bytes:
        """The whole file's bytes (read once)."""
        return Path(self.path).read_bytes()

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the file's bytes."""
        if "data" in self.__dict__:
            return bytes_sha256(self.data)
        return file_sha256(self.path)

    @cached_property
    def text(self) -> str:
        """The content decoded as text (gzip files decompressed first).

        Raises
        ------
        ReadError
            Binary content or corrupt gzip data.
        """
        data = self.data
        if data[:2] == GZIP_MAGIC:
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                raise ReadError(self.path, f"corrupt gzip data ({exc}): the file is truncated "
                                           "or damaged") from exc
        return decode_text(data, self.path)

    @cached_property
    def head_text(self) -> str | None:
        """The first 64 KiB decoded as text (gzip: the start of the decompressed stream),
        or None for binary content. For sniffers."""
        data = self.head
        if self.is_gzip:
            try:
                data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(self.data, HEAD_BYTES)
            except zlib.error:
                return None
        try:
            return decode_text(data, self.path)
        except ReadError:
            # a multi-byte character cut at the 64 KiB boundary is not binary content
            try:
                return decode_text(data[:-4], self.path) if len(data) > 4 else None
            except ReadError:
                return None

    def __repr__(self) -> str:
        return f"<Probe {self.path}>"
