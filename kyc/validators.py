"""Checks on a customer's data that a provider would otherwise make for us, after a session was
created and paid for: a refused start is a session lost and a call made, each time it is retried.
Used by the model (admin forms), the API's input and the session start (kyc/start_limits.py)."""

from __future__ import annotations

import datetime as dt

import iso3166
from django.core.exceptions import ValidationError
from django.utils import timezone

# Older than any living person by a margin: a year of birth typed as 1099 for 1990 is caught.
OLDEST_AGE_YEARS = 130


def date_of_birth_problem(value: dt.date | None) -> str:
    """Why this date of birth cannot be sent to a provider; "" when it can (or there is none)."""
    if value is None:
        return ""
    today = timezone.localdate()
    if value > today:
        return "The date of birth is in the future."
    if value.year < today.year - OLDEST_AGE_YEARS:
        return f"The date of birth is more than {OLDEST_AGE_YEARS} years ago."
    return ""


def country_problem(value: str) -> str:
    """Why this country code cannot be sent to a provider; "" when it can (or there is none).
    XK (Kosovo) is in the list: it issues documents without an ISO 3166 code of its own."""
    if not value:
        return ""
    if value.upper() not in iso3166.countries_by_alpha2:
        return "The country is not an ISO 3166-1 alpha-2 code (e.g. EE, GB, DE)."
    return ""


def validate_date_of_birth(value: dt.date | None) -> None:
    if problem := date_of_birth_problem(value):
        raise ValidationError(problem, code="invalid")


def validate_country(value: str) -> None:
    if problem := country_problem(value):
        raise ValidationError(problem, code="invalid")
