"""Patient and recording fields of a case: checked together, and the corrected (post-term) age."""

from __future__ import annotations

import datetime as _dt
import logging
from typing import Any

from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)


class ReportError(GmdeskError):
    """A report cannot be made (no result in the case, bad patient fields...)."""


#: Post-term ages (weeks) of the fidgety period, when GMA of fidgety movements is valid.
FIDGETY_WINDOW_WEEKS = (9.0, 20.0)


TERM_WEEKS = 40.0


#: Patient and recording fields a case keeps (``Case.set_patient_field``).
PATIENT_FIELDS = ("date_of_birth", "gestational_age", "recording_date", "reviewer", "site")


def validate_patient_field(field: str, value: str, current: dict[str, Any] | None = None,
                           today: _dt.date | None = None) -> str:
    """Check one patient/recording field against the others; return its normal form (empty clears it)."""
    current = dict(current or {})
    value = str(value).strip()
    if not value:
        return ""
    today = today or _dt.date.today()
    if field in ("date_of_birth", "recording_date"):
        d = parse_date(value, field.replace("_", " "))
        if d > today:
            raise ReportError(f"{field.replace('_', ' ')} {d} is in the future")
        if d.year < 1990:
            raise ReportError(f"{field.replace('_', ' ')} {d} is before 1990")
        current[field] = d.isoformat()
        if current.get("date_of_birth") and current.get("recording_date"):
            dob = parse_date(current["date_of_birth"], "date of birth")
            rec = parse_date(current["recording_date"], "recording date")
            if rec < dob:
                raise ReportError(f"recording date {rec} is before the date of birth {dob}")
            if (rec - dob).days > 2 * 365:
                raise ReportError(f"recording date {rec} is more than two years after the date of birth {dob}")
        return d.isoformat()
    if field == "gestational_age":
        weeks = parse_gestational_age(value)
        return value if "+" in value else f"{weeks:g}"
    if field in ("reviewer", "site"):
        if len(value) > 200:
            raise ReportError(f"{field} is longer than 200 characters")
        return value
    raise ReportError(f"unknown field {field!r}")


def parse_gestational_age(value: str | float | int) -> float:
    """Gestational age at birth in weeks from ``38``, ``38.5`` or ``"38+3"`` (weeks+days).

    Raises
    ------
    ReportError
        Not a number, or outside 22–44 weeks.
    """
    try:
        if isinstance(value, str) and "+" in value:
            w, d = value.split("+", 1)
            weeks = int(w.strip()) + int(d.strip()) / 7.0
            if not 0 <= int(d.strip()) <= 6:
                raise ValueError
        else:
            weeks = float(value)
    except (TypeError, ValueError):
        raise ReportError(f"gestational age {value!r} is not weeks (38.5) or weeks+days (38+3)") from None
    if not 22.0 <= weeks <= 44.0:
        raise ReportError(f"gestational age {weeks:.1f} weeks is outside 22-44 weeks")
    return weeks


def parse_date(value: str, what: str) -> _dt.date:
    """An ISO date (``YYYY-MM-DD``)."""
    try:
        return _dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ReportError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def format_ga(weeks: float) -> str:
    """Weeks as ``38+3`` (weeks+days)."""
    w = int(weeks + 1e-9)
    d = int(round((weeks - w) * 7))
    if d == 7:
        w, d = w + 1, 0
    return f"{w}+{d}"


def corrected_age(date_of_birth: str, recording_date: str, gestational_age: str | float) -> dict[str, Any]:
    """Chronological and post-term (corrected) age at recording.

    Post-term age = gestational age at birth + chronological age − 40 weeks (so a preterm infant's age
    counts from the due date, and a baby born at 41 weeks is a week older than its chronological age).

    Returns
    -------
    dict
        ``chronological_days``, ``postterm_weeks``, ``in_fidgety_window`` (9–20 weeks post-term) and a
        ``warning`` sentence when outside it (None inside).
    """
    dob = parse_date(date_of_birth, "date of birth")
    rec = parse_date(recording_date, "recording date")
    if rec < dob:
        raise ReportError(f"recording date {rec} is before the date of birth {dob}")
    ga = parse_gestational_age(gestational_age)
    days = (rec - dob).days
    post = ga + days / 7.0 - TERM_WEEKS
    lo, hi = FIDGETY_WINDOW_WEEKS
    inside = lo <= post <= hi
    warning = None if inside else (
        f"corrected age {post:.1f} weeks is outside the fidgety period ({lo:.0f}-{hi:.0f} weeks post-term): "
        "fidgety movements cannot be assessed reliably at this age")
    return {"chronological_days": days, "gestational_age_weeks": round(ga, 3), "postterm_weeks": round(post, 2),
            "in_fidgety_window": inside, "warning": warning}
