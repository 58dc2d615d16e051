"""naheo_spec's own NeXus result stores: the spectra they hold, exactly as written.

A store written by :func:`naheo_spec.store.write_records` keeps every spectrum it was given
(``naheo-spec convert``) as an entry of kind ``"spectrum"``; this format rebuilds them
bit for bit, with the *original* source file and SHA-256 (that is where the numbers came
from). Entries of other kinds (results) are not spectra and are skipped.
"""
from __future__ import annotations

from naheo_spec.errors import ReadError, StoreError
from naheo_spec.io.registry import FormatSpec

__all__ = ["FORMAT", "read_store_spectra", "is_naheo_store"]


def is_naheo_store(path) -> bool:
    """True when ``path`` is an HDF5 file written by naheo_spec's store."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            creator = f.attrs.get("creator", b"")
            creator = creator.decode() if isinstance(creator, bytes) else str(creator)
            return creator.startswith("naheo_spec")
    except OSError:
        return False


def read_store_spectra(probe):
    """The spectra stored in a naheo_spec store file (entries of kind ``"spectrum"``).

    Raises
    ------
    ReadError
        The store holds no spectrum entries (the message lists the kinds it holds).
    """
    from naheo_spec.store import read_records
    from naheo_spec.store.convert import SPECTRUM_KIND, record_to_spectrum

    try:
        records = read_records(probe.path)
    except StoreError as exc:
        raise ReadError(probe.path, str(exc)) from exc
    spectra = [record_to_spectrum(r) for r in records if r.kind == SPECTRUM_KIND]
    if not spectra:
        kinds = sorted({r.kind for r in records})
        raise ReadError(probe.path, f"naheo_spec store without spectra (entries of kind {kinds} "
                                    "hold results, not spectra; read them with "
                                    "naheo_spec.store.read_records)")
    return spectra


def _sniff(probe) -> float:
    return 0.9 if probe.is_hdf5 and is_naheo_store(probe.path) else 0.0


FORMAT = FormatSpec(name="nexus-store", technique="any",
                    description="naheo_spec NeXus result store: the spectra it holds, with their "
                                "original source",
                    sniff=_sniff, read=read_store_spectra, extensions=("h5", "nxs"),
                    aliases=("store",))
