"""The cases, one module per chapter of the specification; importing this package registers them all."""

from deconflict.conformance.cases import (  # noqa: F401  (each module registers its cases)
    acknowledgement,
    channel,
    codec,
    compatibility,
    conference,
    conflict,
    envelope,
    errors,
    geometry,
    journal,
    limits,
    notice,
    overview,
    security,
    signing,
    timing,
)
