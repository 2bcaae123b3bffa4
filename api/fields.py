"""Input fields stricter than DRF's: a string must be sent as a JSON string (DRF would turn 42 or
true into "42" or "True" and let a client's type bug pass), and every constraint is a pattern the
OpenAPI schema shows, so that what is documented is exactly what is accepted."""

import iso3166
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kyc.validators import country_problem

# "+", not "*": DRF never validates a blank value, and the schema's blank alternative ("maxLength: 0",
# from drf-spectacular for allow_blank fields) must not overlap this one inside its oneOf.
NO_NULL_CHARACTERS = RegexValidator(r"^[^\x00]+$", message="Null characters are not allowed.")


class _StrictString:
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(_StrictString, serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(NO_NULL_CHARACTERS)


class StrictRegexField(_StrictString, serializers.RegexField):
    pass


class StrictEmailField(_StrictString, serializers.EmailField):
    pass


# A notification endpoint URL: http(s), a host name or IPv4 address, an optional port (1-65535), path and
# query (HTTPS only where NOTIFICATIONS_REQUIRE_HTTPS, the default in production).
ENDPOINT_URL_PATTERN = (
    r"^https?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?){0,10}"
    r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?(/([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?"
    r"(\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$"
)


def endpoint_url_field(**kwargs) -> StrictRegexField:
    return StrictRegexField(
        ENDPOINT_URL_PATTERN,
        max_length=2000,
        error_messages={"invalid": "Enter a valid http(s) URL."},
        **kwargs,
    )


# The ISO 3166-1 alpha-2 codes a provider accepts (kyc/validators.py), as the schema's enum; the
# API takes them in either case and stores them in capitals.
COUNTRY_CODES = sorted(iso3166.countries_by_alpha2)


@extend_schema_field({"type": "string", "enum": ["", *COUNTRY_CODES]})
class CountryField(StrictRegexField):
    def __init__(self, **kwargs):
        super().__init__(
            r"^[A-Za-z]{2}$",
            error_messages={"invalid": "Two letters (ISO 3166-1 alpha-2)."},
            **kwargs,
        )

    def run_validation(self, data=serializers.empty):
        # The pattern's own message first ("Two letters"), then whether the two letters are a code.
        value = super().run_validation(data)
        if problem := country_problem(value):
            raise serializers.ValidationError(problem)
        return value
