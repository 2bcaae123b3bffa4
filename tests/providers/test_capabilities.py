"""Optional capabilities (providers/capabilities.py): discoverable, asked for before use, and
skipped cleanly for a provider without them."""

import dataclasses

import pytest

from kyc.casework.duplicates import case_duplicates
from kyc.models import ScreeningResult, VerificationSession
from kyc.reviews.policy import decline_allows_restart
from kyc.services import updates
from kyc.services.screening import session_screen_person
from providers.capabilities import (
    DeclineReasonKinds,
    DuplicateDetection,
    ImageUpload,
    ScreeningLookup,
    capabilities_of,
)
from providers.registry import get_provider
from tests.factories import SessionFactory
from tests.fake_provider import DOTTED, decision_update
from tests.providers_config import with_provider

SCREENING_TINY = "tests.fake_provider.ScreeningTinyProvider"
MATCHING_TINY = "tests.fake_provider.MatchingTinyProvider"


def test_veriff_has_what_it_implements_and_the_tiny_provider_nothing(settings):
    with_provider(settings, "tiny", DOTTED)
    assert capabilities_of(get_provider("veriff")) == {
        "ScreeningLookup",
        "DuplicateDetection",
        "DeclineReasonKinds",
    }
    assert not isinstance(get_provider("veriff"), ImageUpload)
    assert capabilities_of(get_provider("tiny")) == frozenset()


@pytest.mark.django_db
def test_a_provider_without_a_person_look_up_is_not_asked(settings):
    with_provider(settings, "tiny", DOTTED)
    session = SessionFactory(provider="tiny", provider_session_id="tiny-1")
    assert not isinstance(get_provider("tiny"), ScreeningLookup)
    assert session_screen_person(session_id=session.pk) == 0


@pytest.mark.django_db
def test_a_provider_with_a_person_look_up_is_asked(settings):
    with_provider(settings, "tiny", SCREENING_TINY)
    session = SessionFactory(provider="tiny", provider_session_id="tiny-1")
    assert session_screen_person(session_id=session.pk) == 0  # it found no one
    assert get_provider("tiny").screened == ["tiny-1"]
    assert not ScreeningResult.objects.exists()


def test_a_decline_reason_of_a_provider_that_sorts_none_never_lets_the_customer_restart(settings):
    with_provider(settings, "tiny", DOTTED)
    settings.KYC_RESTART_ALLOWED_REASONS = ["quality", "fraud"]  # every kind allowed
    assert not isinstance(get_provider("tiny"), DeclineReasonKinds)
    assert decline_allows_restart("tiny", "T-9") is False
    assert decline_allows_restart("veriff", "204") is True  # Veriff sorts 204 as quality
    settings.KYC_RESTART_ALLOWED_REASONS = ["tiny:T-9"]  # named by code: the provider need not sort
    assert decline_allows_restart("tiny", "T-9") is True


@pytest.mark.django_db
@pytest.mark.parametrize(("dotted", "found"), [(DOTTED, False), (MATCHING_TINY, True)])
def test_face_matches_are_read_only_from_a_provider_that_reports_them(settings, customer, dotted, found):
    with_provider(settings, "tiny", dotted)
    assert isinstance(get_provider("tiny"), DuplicateDetection) is found
    other = SessionFactory(provider="tiny", provider_session_id="tiny-other")
    session = SessionFactory(customer=customer, provider="tiny", provider_session_id="tiny-1")
    update = dataclasses.replace(decision_update("tiny-1", "declined", "T-9"), raw={"matched": "tiny-other"})
    updates.session_apply_update(provider="tiny", update=update)
    sessions = list(VerificationSession.objects.filter(pk=session.pk).prefetch_related("decisions"))
    assert [d.session_id for d in case_duplicates(sessions)] == ([other.pk] if found else [])
