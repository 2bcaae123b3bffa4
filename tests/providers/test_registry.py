"""The registry builds providers from settings.KYC_PROVIDERS alone: a provider reads no setting of
its own, and replacing the dict (a test's override) is enough to get providers built afresh."""

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from kyc.checks import providers_configured
from kyc.flow.reasons import GENERAL_RESUBMISSION, resubmission_reason
from providers import registry
from providers.base import ProviderNotConfigured
from providers.registry import UnknownProvider, find_provider, get_provider, provider_names
from providers.veriff import VeriffProvider
from tests.fake_provider import DOTTED
from tests.providers_config import veriff_options, with_options, with_provider
from webhooks.wsgi import WEBHOOK_PATH_PREFIX, PathDispatcher


def test_veriff_is_built_from_its_options_and_reads_no_setting(settings):
    for name in ("VERIFF_API_URL", "VERIFF_API_KEY", "VERIFF_API_SECRET", "VERIFF_SIGNATURE_SCHEME"):
        assert not hasattr(settings, name)  # the environment feeds KYC_PROVIDERS only
    provider = VeriffProvider(api_url="https://veriff.test/v1/", api_key="k", api_secret="s", timeout=3)
    assert (provider.base_url, provider.api_key, provider.secrets, provider.scheme) == (
        "https://veriff.test/v1",
        "k",
        ("s",),
        "hmac",
    )
    with pytest.raises(ValueError, match="signature_scheme"):
        VeriffProvider(api_url="https://veriff.test/v1", api_key="k", api_secret="s", signature_scheme="md5")


def test_the_same_dict_gives_the_same_provider_and_a_new_dict_a_new_one(settings):
    first = get_provider("veriff")
    assert get_provider("veriff") is first
    with_options(settings, "veriff", api_key="0b5a1c9e-6c3d-4c57-9a0e-3c1b2d4e5f60", previous_secrets=["old"])
    changed = get_provider("veriff")
    assert changed is not first
    assert changed.api_key == "0b5a1c9e-6c3d-4c57-9a0e-3c1b2d4e5f60" and changed.secrets[1:] == ("old",)
    assert veriff_options(settings).api_key == changed.api_key


def test_with_options_refuses_an_option_the_provider_does_not_have(settings):
    with pytest.raises(TypeError, match="api_secrett"):
        with_options(settings, "veriff", api_secrett="typo")


def test_the_refusal_follows_the_opt_in_without_any_clearing(settings):
    settings.KYC_ALLOW_SANDBOX_PROVIDERS = True
    get_provider("veriff")  # built and kept while it runs on the sandbox
    settings.KYC_ALLOW_SANDBOX_PROVIDERS = False
    with pytest.raises(ProviderNotConfigured):
        get_provider("veriff")
    assert find_provider("veriff") is not None  # presentation still works


def test_unknown_and_malformed_entries(settings):
    with pytest.raises(UnknownProvider):
        get_provider("nope")
    assert find_provider("nope") is None
    assert registry.explain_code("nope", 9001) == "" and registry.explain_reason("nope", "102") == ""
    settings.KYC_PROVIDERS = {**settings.KYC_PROVIDERS, "bare": DOTTED}
    with pytest.raises(ImproperlyConfigured, match="dotted path"):
        get_provider("bare")
    settings.KYC_PROVIDERS = {"veriff": settings.KYC_PROVIDERS["veriff"], "odd": ("builtins.dict", {})}
    with pytest.raises(ImproperlyConfigured, match=r"not a providers\.base\.Provider"):
        get_provider("odd")


def test_an_entry_that_cannot_be_built_is_a_start_up_error_not_a_crash(settings):
    with_provider(settings, "tiny", DOTTED, tokn="typo")
    [error] = providers_configured()
    assert (
        error.id == "kyc.E001"
        and "KYC_PROVIDERS['tiny'] cannot be built" in error.msg
        and "tokn" in error.msg
    )


def test_a_new_provider_is_one_entry(settings):
    with_provider(settings, "tiny", DOTTED, token="t-1")
    assert provider_names() == ["veriff", "solaris", "shareid", "tiny"]
    assert get_provider("tiny").token == "t-1"
    # It has no words for its codes: the base's defaults say nothing rather than fail.
    assert registry.explain_code("tiny", 77) == "" and registry.explain_reason("tiny", "T-9") == ""
    assert registry.explain_code("veriff", 9001) and registry.explain_reason("veriff", "102")


def test_resubmission_wording_comes_from_the_provider(settings):
    with_provider(settings, "tiny", DOTTED)
    assert resubmission_reason("veriff", "204").startswith("The photos were not sharp enough")
    assert resubmission_reason("veriff", "299") == str(GENERAL_RESUBMISSION)
    assert resubmission_reason("tiny", "204") == str(GENERAL_RESUBMISSION)
    assert resubmission_reason("gone", "204") == str(GENERAL_RESUBMISSION)


def test_the_default_provider_must_be_enabled(settings):
    # Solaris is known but not enabled here (development enables it beside Veriff).
    settings.KYC_PROVIDERS = {k: v for k, v in settings.KYC_PROVIDERS.items() if k != "solaris"}
    with_provider(settings, "tiny", DOTTED)
    settings.KYC_DEFAULT_PROVIDER = "tiny"
    assert [e.id for e in providers_configured()] == []
    settings.KYC_DEFAULT_PROVIDER = "solaris"
    [error] = providers_configured()
    assert error.id == "kyc.E002" and error.level == checks.ERROR
    assert "'solaris'" in error.msg and "veriff, shareid, tiny" in error.msg


def test_a_misconfigured_provider_is_asked_what_is_missing(settings):
    with_provider(settings, "tiny", DOTTED, token="")
    settings.KYC_ALLOW_SANDBOX_PROVIDERS = False
    with_options(
        settings,
        "veriff",
        api_url="https://stationapi.veriff.com/v1",
        api_key="0b5a1c9e-6c3d-4c57-9a0e-3c1b2d4e5f60",
        api_secret="real",
    )
    with_options(
        settings,
        "solaris",
        api_url="https://api.solarisbank.de",
        auth_url="https://auth.solarisbank.de",
        client_id="partner",
        client_secret="real",
    )
    with_options(
        settings,
        "shareid",
        api_url="https://api.shareid.example",
        sdk_url="https://sdk.shareid.example/?token={token}",
        business_hash="2915ac99",
        api_key="fl-00ea000defabc",
    )
    [error] = providers_configured()
    assert error.id == "kyc.E001" and "TINY_TOKEN is empty" in error.msg


def test_the_short_stack_serves_the_paths_each_mounted_sandbox_declares(settings):
    site, hooks = object(), object()
    settings.KYC_SANDBOX_SERVER_PATHS = ["/sandbox/tiny/api/"]
    assert PathDispatcher(site, hooks).prefixes == (WEBHOOK_PATH_PREFIX, "/sandbox/tiny/api/")
    settings.KYC_SANDBOX_SERVER_PATHS = []
    assert PathDispatcher(site, hooks).prefixes == (WEBHOOK_PATH_PREFIX,)


def test_each_sandbox_declares_its_api_when_sandboxes_are_mounted(settings):
    assert settings.KYC_SANDBOX_ENABLED
    # Veriff's API; Solaris's auth host (the token endpoint) and API host; ShareID's flow API.
    assert settings.KYC_SANDBOX_SERVER_PATHS == [
        "/sandbox/veriff/v1/",
        "/sandbox/solaris/oauth2/",
        "/sandbox/solaris/v1/",
        "/sandbox/shareid/flow/",
    ]
