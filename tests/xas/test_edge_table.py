"""The edge energies shipped in naheo_spec.xas.edge_table are xraydb's."""
import xraydb

from naheo_spec.xas.edge_table import EDGE_ENERGIES
from naheo_spec.xas.edges import EDGES, SYMBOLS, tabulated_edge_energy


def test_table_equals_installed_xraydb():
    expected = {}
    for z in range(1, len(SYMBOLS)):
        for name, edge in xraydb.xray_edges(SYMBOLS[z]).items():
            if name in EDGES:
                expected[(SYMBOLS[z], name)] = float(edge.energy)
    assert EDGE_ENERGIES == expected


def test_lookups():
    assert tabulated_edge_energy("Fe") == 7112.0 and tabulated_edge_energy("mn", "K") == 6539.0
    assert tabulated_edge_energy("Pb", "L3") == float(xraydb.xray_edge("Pb", "L3").energy)
