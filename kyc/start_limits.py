"""What bounds the sessions a customer can have created at the provider (reads only; the start
itself is kyc.services.sessions.verification_start_or_resume):

- the data a session request carries is checked first (kyc/validators.py), so a date of birth of
  9999-12-31 never reaches the provider;
- a session the provider refused permanently is answered again, not asked again, while the data
  it was refused for has not changed: its fingerprint is kept on the session;
- at most KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY new sessions in any 24 hours, unless staff lifted
  the cap (Customer.session_cap_lifted_at: sessions before it no longer count).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

from kyc.models import Customer, VerificationSession
from kyc.validators import country_problem, date_of_birth_problem

WINDOW = dt.timedelta(hours=24)


def start_input_problems(customer: Customer) -> dict[str, str]:
    """The customer's fields that a session request would carry and a provider would refuse."""
    problems = {
        "date_of_birth": date_of_birth_problem(customer.date_of_birth),
        "country": country_problem(customer.country),
    }
    return {field: problem for field, problem in problems.items() if problem}


def start_fingerprint(customer: Customer, provider: str) -> str:
    """The session request's data, as a keyed digest: equal when the same request would be sent
    again, and no personal data on the session (names and dates of birth are guessable, hence
    the key)."""
    fields = (provider, customer.first_name, customer.last_name, str(customer.date_of_birth or ""))
    value = "\x1f".join((*fields, customer.country.upper()))
    return salted_hmac("kyc.start_fingerprint", value, algorithm="sha256").hexdigest()


def refused_session_to_repeat(customer: Customer, provider: str) -> VerificationSession | None:
    """The customer's latest session when the provider refused it permanently for the very data a
    new start would send (and staff have not lifted the limits since)."""
    latest = customer.sessions.order_by("-created_at", "-id").first()
    if latest is None or not latest.provider_error_permanent or latest.provider_session_id:
        return None
    if customer.session_cap_lifted_at and latest.created_at < customer.session_cap_lifted_at:
        return None
    if latest.start_fingerprint != start_fingerprint(customer, provider):
        return None
    return latest


def daily_cap() -> int:
    """New sessions allowed per customer in 24 hours; 0 means no cap."""
    return settings.KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY


def _counted_since(customer: Customer, now: dt.datetime) -> dt.datetime:
    since = now - WINDOW
    if customer.session_cap_lifted_at and customer.session_cap_lifted_at > since:
        return customer.session_cap_lifted_at
    return since


def sessions_counted(customer: Customer, now: dt.datetime | None = None) -> int:
    """New sessions of this customer that count toward today's cap."""
    now = now or timezone.now()
    return customer.sessions.filter(created_at__gte=_counted_since(customer, now)).count()


def cap_reached_until(customer: Customer) -> dt.datetime | None:
    """When the customer may start a new session again, if the cap stops them now; else None."""
    cap = daily_cap()
    if cap <= 0:
        return None
    now = timezone.now()
    counted = customer.sessions.filter(created_at__gte=_counted_since(customer, now))
    if counted.count() < cap:
        return None
    # The cap frees a place when the oldest session that counts is 24 hours old.
    oldest = counted.order_by("-created_at", "-id").values_list("created_at", flat=True)[cap - 1]
    return oldest + WINDOW
