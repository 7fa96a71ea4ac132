"""levlab: interpret the liver lab panel for patients with (suspected) liver metastases.

The core (values, catalog, units, ranges, interpret, rules) is pure and importable
without click, rich or csv; `cli.py` wires it to the terminal.
"""

__version__ = "0.1.0"

DISCLAIMER = (
    "levlab supports clinical judgement and does not replace it; "
    "liver tests are not specific for metastases, imaging confirms."
)
