"""Closed sets of the interface, as enums that accept strings."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """A street mode: ``Mode("walk")`` and ``Mode.WALK`` are the same."""

    WALK = "walk"
    BIKE = "bike"
    DRIVE = "drive"

    @classmethod
    def parse(cls, value: str | Mode) -> Mode:
        """Return the mode named by ``value``, with an error that lists the valid names."""
        from connectivity._errors import ParameterError

        if isinstance(value, Mode):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise ParameterError(f"unknown street mode {value!r}: use one of {valid}") from None
