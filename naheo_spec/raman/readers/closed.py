"""Formats that are recognised in order to be refused with a reason.

- Horiba LabSpec 6 ``.l6s``: a closed binary format with no open parser (ramanchada2 and
  rosettasciio do not read it either); export the spectrum from LabSpec as ``.txt``.
- Horiba/Jobin Yvon LabSpec ``.xml`` (LSX tree): not read here; export as ``.txt``.
- Princeton Instruments ``.spe``: camera frames, not a calibrated Raman spectrum; export
  the calibrated spectrum as text.
"""
from __future__ import annotations

from naheo_spec.errors import ReadError
from naheo_spec.io.registry import FormatSpec

__all__ = ["FORMATS"]


def _refuse(reason: str):
    def read(probe, **_):
        raise ReadError(probe.path, reason)
    return read


def _sniff_l6s(probe) -> float:
    return 0.9 if probe.extension == "l6s" else 0.0


def _sniff_lsx(probe) -> float:
    head = (probe.head_text or "")[:2000]
    return 0.9 if "<LSX_Data" in head or "<LSX_Tree" in head else 0.0


def _sniff_spe(probe) -> float:
    return 0.9 if probe.extension == "spe" and b"\x00" in probe.head[:4100] else 0.0


FORMATS = [
    FormatSpec(name="labspec-l6s", technique="raman",
               description="Horiba LabSpec 6 .l6s binary (refused: no open format)",
               sniff=_sniff_l6s, extensions=("l6s",),
               read=_refuse("LabSpec 6 .l6s is a closed binary format with no open parser; "
                            "export the spectrum from LabSpec as .txt (File > Save As > .txt) "
                            "and read that")),
    FormatSpec(name="labspec-xml", technique="raman",
               description="Horiba/Jobin Yvon LabSpec XML (LSX tree) export (refused)",
               sniff=_sniff_lsx, extensions=("xml",),
               read=_refuse("LabSpec XML (LSX tree) exports are not read by naheo_spec; "
                            "export the spectrum from LabSpec as .txt")),
    FormatSpec(name="princeton-spe", technique="raman",
               description="Princeton Instruments .spe camera file (refused)",
               sniff=_sniff_spe, extensions=("spe",),
               read=_refuse("Princeton Instruments .spe holds camera frames without a "
                            "Raman-shift calibration naheo_spec can trust; export the "
                            "calibrated spectrum as text")),
]
