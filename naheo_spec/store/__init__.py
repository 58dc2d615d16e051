"""The results store: NeXus/HDF5 files of :class:`~naheo_spec.records.Record` objects, flat
CSV/JSON summary tables, and the Spectrum <-> Record conversion.

h5py is imported only inside the functions that touch HDF5 files.
"""
from naheo_spec.atomic import atomic_path, check_writable
from naheo_spec.store.convert import (
    dumps_lossless,
    loads_lossless,
    record_to_spectrum,
    spectrum_to_record,
)
from naheo_spec.store.nexus import check_nexus, read_records, write_records
from naheo_spec.store.table import (
    record_rows,
    results_table,
    summary_rows,
    to_dataframe,
    write_summary_table,
)

__all__ = [
    "write_records", "read_records", "check_nexus", "write_summary_table", "summary_rows",
    "results_table", "record_rows", "to_dataframe",
    "spectrum_to_record", "record_to_spectrum", "dumps_lossless", "loads_lossless",
    "atomic_path", "check_writable",
]
