import uuid

import factory

from kyc.models import Customer, VerificationSession


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_ref = factory.Sequence(lambda n: f"CUST-{n:05d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Faker("email")
    country = "EE"


class SessionFactory(factory.django.DjangoModelFactory):
    """A session that the provider has already created (its id known)."""

    class Meta:
        model = VerificationSession

    customer = factory.SubFactory(CustomerFactory)
    provider = "veriff"
    provider_session_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    hosted_url = factory.LazyAttribute(lambda o: f"https://magic.veriff.me/v/{o.provider_session_id}")
