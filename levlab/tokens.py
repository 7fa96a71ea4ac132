"""Command-line tokens `ANALYTE=VALUE[UNIT]` -> measurements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from levlab.catalog import get_analyte
from levlab.errors import LevlabError, UsageError, message_of, shown
from levlab.interpret import read_measurement
from levlab.language import Msg
from levlab.model import Measurement


def read_tokens(tokens: Iterable[str], configured_units: Mapping[str, str] | None = None) -> dict[str, Measurement]:
    """Read every token; the first bad one is an error naming it (nothing is half-read).
    `configured_units`: the unit of a bare value per analyte id, from the settings file."""
    measurements: dict[str, Measurement] = {}
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(Msg("token {token}: write ANALYTE=VALUE[UNIT], e.g. alt=35 or bili=2.4mg/dL", token=shown(token)))
        try:
            analyte = get_analyte(name)
            measurement = read_measurement(analyte, value, configured_unit=(configured_units or {}).get(analyte.id))
        except LevlabError as error:
            raise type(error)(Msg("token {token}: {error}", token=shown(token), error=message_of(error))) from None
        if analyte.id in measurements:
            raise UsageError(Msg("token {token}: {analyte} is given twice ({first!r} and {second!r})", token=shown(token),
                                 analyte=analyte.id, first=measurements[analyte.id].input, second=value.strip()))
        measurements[analyte.id] = measurement
    return measurements
