"""ShareID's callbacks carry the result with four base64 images in their bodies: erasure and the
retention purge blank them like any delivery of the customer's, the callbacks about an applicant
that a later visit replaced included, and the images stored from them go like any media.

The callbacks arrive through the real receiving view with the session's notification token; the
decision and its images through ShareID's real normalizer, as a poll applies them."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from kyc.models import Customer, Media, ProviderDecision, VerificationSession
from kyc.operations.erasure import customer_erase
from kyc.operations.retention import retention_purge
from kyc.services import customers
from kyc.services.launch import session_provider_session_replace
from kyc.services.provider_updates import provider_update_apply
from providers.shareid import normalize
from tests.factories import SessionFactory
from tests.kyc.operations.conftest import evidence_files
from tests.providers.shareid.support import JPEG, b64, result
from webhooks.models import InboundEvent
from webhooks.tokens import notification_token_make

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = "ap-20261203101303909-sim0-1111111111"  # the first visit's applicant
SECOND = "ap-20261203101733120-sim0-2222222222"  # the second visit's, which decided
OTHER = "ap-20261203102000000-sim0-3333333333"  # another customer's


@pytest.fixture(autouse=True)
def periods(settings):
    settings.KYC_ALLOW_SANDBOX_PROVIDERS = True
    settings.KYC_RETENTION_MEDIA_DAYS = 30
    settings.KYC_RETENTION_RECORD_DAYS = 1825
    settings.KYC_RETENTION_REJECTED_WEBHOOK_DAYS = 10


def callback(client, session, applicant_id, *, body=None):
    token = notification_token_make(provider="shareid", reference=str(session.reference))
    data = (
        body
        if body is not None
        else json.dumps(
            {
                **result(["no_face"], applicant_id=applicant_id),
                "customer_data": {"reference": str(session.reference)},
            }
        )
    )
    response = client.post(f"/webhooks/shareid/?token={token}", data=data, content_type="application/json")
    assert response.status_code == 200


def shareid_customer(client, ref, applicant_ids):
    customer = customers.customer_create(
        external_ref=ref, first_name="Camille", last_name="Sandbox", email=f"{ref}@example.org", country="FR"
    )
    session = SessionFactory(
        customer=customer, provider="shareid", provider_session_id=applicant_ids[0], hosted_url=""
    )
    for applicant_id in applicant_ids[
        1:
    ]:  # a later visit: a new onboarding, audited with the one it replaced
        assert session_provider_session_replace(session_id=session.pk, provider_session_id=applicant_id)
    for applicant_id in applicant_ids:
        callback(client, session, applicant_id)
    callback(client, session, "", body=f'{{"ref": "{ref}", '.encode())  # kept as malformed, with our token
    last = applicant_ids[-1]
    provider_update_apply(
        provider="shareid", update=normalize.update_from_result(result([], applicant_id=last), last)
    )
    session.refresh_from_db()
    assert session.status == "approved"
    return customer, session


def image_in_a_body() -> list[int]:
    """The events whose body still holds one of the images (the test's JPEG, base64)."""
    needle = b64(JPEG)[:200].encode()
    return [pk for pk, body in InboundEvent.objects.values_list("pk", "body") if needle in bytes(body)]


def test_erasure_blanks_every_callback_of_the_customer_and_purges_the_images(client, settings):
    customer, session = shareid_customer(client, "H-1", [FIRST, SECOND])
    _, other = shareid_customer(client, "H-2", [OTHER])
    events = InboundEvent.objects.filter(provider="shareid")
    assert events.count() == 5 and events.filter(state=InboundEvent.State.MALFORMED).count() == 2
    assert len(image_in_a_body()) == 3  # every callback but the malformed ones
    # Four images per applicant, kept from its callback (the second's result brought the same ids).
    assert session.media.filter(state=Media.State.STORED).count() == 8

    report = customer_erase(customer_id=customer.pk, actor_label="test", request_ref="DSR-15")

    theirs = InboundEvent.objects.exclude(session_reference=str(other.reference))
    assert report.webhooks_redacted == 3 == theirs.filter(redacted_at__isnull=False).count()
    assert set(theirs.values_list("provider_session_id", flat=True)) == {FIRST, SECOND, ""}
    assert all(bytes(body) == b"" for body in theirs.values_list("body", flat=True))
    # The other customer's callback and images stay.
    assert [InboundEvent.objects.get(pk=pk).provider_session_id for pk in image_in_a_body()] == [OTHER]
    assert set(session.media.values_list("state", flat=True)) == {Media.State.PURGED}
    assert other.media.filter(state=Media.State.STORED).count() == 4
    assert all(str(other.reference) in path for path in evidence_files(settings))


def test_the_retention_purge_blanks_the_callbacks_after_the_record_period(client, settings):
    customer, session = shareid_customer(client, "H-3", [FIRST, SECOND])
    long_ago = timezone.now() - dt.timedelta(days=1826)
    VerificationSession.objects.filter(pk=session.pk).update(decided_at=long_ago, created_at=long_ago)
    # The customer is recent enough to keep their profile: only the session's records go.
    Customer.objects.filter(pk=customer.pk).update(created_at=timezone.now())

    report = retention_purge()

    assert report.webhooks_redacted == 3 and report.customers_erased == 0
    assert image_in_a_body() == []
    assert InboundEvent.objects.filter(redacted_at=None).count() == 0
    assert ProviderDecision.objects.get(session=session).redacted_at is not None
    assert set(session.media.values_list("state", flat=True)) == {Media.State.PURGED}
    assert evidence_files(settings) == []


def test_the_images_go_after_the_media_period_and_the_callbacks_stay_until_the_record_period(client):
    _, session = shareid_customer(client, "H-4", [FIRST])
    decided = timezone.now() - dt.timedelta(days=31)
    VerificationSession.objects.filter(pk=session.pk).update(decided_at=decided, created_at=decided)

    report = retention_purge()

    assert report.files_deleted == 4 and report.webhooks_redacted == 0
    assert set(session.media.values_list("state", flat=True)) == {Media.State.PURGED}
    assert len(image_in_a_body()) == 1  # the callback's body: personal data kept for the AML period
