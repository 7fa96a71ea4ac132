"""levlab.exports.fields: the columns levlab appends."""

from __future__ import annotations

from levlab.catalog import analytes


def test_every_analyte_id_makes_a_column_name() -> None:
    for analyte_id in analytes():
        assert analyte_id.isidentifier()
