"""The signature check and the sealing of secrets, on the seed's worked examples."""

import hashlib
import hmac

import pytest
from cryptography.fernet import Fernet

from providers.solaris import signing
from providers.solaris.sealing import SealBroken, SecretSeal, key_from_passphrase
from tests.providers.solaris.hooks_support import (
    SEED_BODY,
    SEED_EMPTY_SIGNATURE,
    SEED_SECRET,
    SEED_SIGNATURE,
)


def test_the_seeds_worked_examples_are_signed_and_verified():
    assert signing.signature(SEED_BODY, SEED_SECRET) == SEED_SIGNATURE
    assert signing.signature(b"{}", SEED_SECRET) == SEED_EMPTY_SIGNATURE
    assert signing.verify(SEED_BODY, SEED_SIGNATURE, SEED_SECRET)
    assert signing.verify(b"{}", SEED_EMPTY_SIGNATURE, SEED_SECRET)


def test_one_byte_changed_in_the_body_or_the_digest_fails():
    assert not signing.verify(SEED_BODY.replace(b"successful", b"successfuL"), SEED_SIGNATURE, SEED_SECRET)
    assert not signing.verify(SEED_BODY + b" ", SEED_SIGNATURE, SEED_SECRET)
    flipped = SEED_SIGNATURE[:-1] + ("7" if SEED_SIGNATURE[-1] != "7" else "8")
    assert not signing.verify(SEED_BODY, flipped, SEED_SECRET)
    assert not signing.verify(SEED_BODY, SEED_SIGNATURE, SEED_SECRET[:-1] + "9")


@pytest.mark.parametrize("algorithm", ["sha1", "md5", "sha512"])
def test_another_algorithm_is_refused_even_when_its_digest_is_right(algorithm):
    # Solaris's Ruby example would take the header's algorithm; we take sha256 only.
    digest = hmac.new(SEED_SECRET.encode(), SEED_BODY, getattr(hashlib, algorithm)).hexdigest()
    assert not signing.verify(SEED_BODY, f"{algorithm}={digest}", SEED_SECRET)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "=" + SEED_SIGNATURE[7:], SEED_SIGNATURE[7:], "sha256", "sha256=zz", "sha256=é€☃"],
)
def test_a_missing_empty_or_malformed_header_is_refused_without_an_error(header):
    assert not signing.verify(SEED_BODY, header, SEED_SECRET)


def test_an_empty_secret_never_verifies():
    assert not signing.verify(SEED_BODY, signing.signature(SEED_BODY, ""), "")


# -- sealing -----------------------------------------------------------------------------------


def test_a_sealed_secret_opens_to_itself_and_does_not_show_it():
    seal = SecretSeal([Fernet.generate_key().decode()])
    sealed = seal.seal(SEED_SECRET)
    assert SEED_SECRET not in sealed and seal.open(sealed) == SEED_SECRET
    assert seal.seal(SEED_SECRET) != sealed  # a fresh IV each time: equal secrets do not look equal


def test_rotation_the_first_key_seals_every_key_opens_and_reseal_moves_to_the_new_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_old = SecretSeal([old]).seal(SEED_SECRET)
    rotating = SecretSeal([new, old])
    assert rotating.open(sealed_old) == SEED_SECRET
    resealed = rotating.reseal(sealed_old)
    assert SecretSeal([new]).open(resealed) == SEED_SECRET
    with pytest.raises(SealBroken):
        SecretSeal([new]).open(sealed_old)  # the old key removed before the reseal: unreadable


def test_a_secret_sealed_with_another_key_or_tampered_with_does_not_open():
    seal = SecretSeal([Fernet.generate_key().decode()])
    with pytest.raises(SealBroken):
        seal.open(SecretSeal([Fernet.generate_key().decode()]).seal(SEED_SECRET))
    sealed = seal.seal(SEED_SECRET)
    with pytest.raises(SealBroken):
        seal.open(sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:])
    with pytest.raises(SealBroken):
        seal.open("not a token")


def test_a_key_that_is_not_a_fernet_key_stops_the_build_and_no_key_is_a_problem():
    with pytest.raises(ValueError, match="SOLARIS_WEBHOOK_SECRET_KEYS"):
        SecretSeal(["too-short"])
    empty = SecretSeal(["", "  "])
    assert empty.problems() and "SOLARIS_WEBHOOK_SECRET_KEYS" in empty.problems()[0]
    with pytest.raises(SealBroken):
        empty.seal(SEED_SECRET)


def test_developments_key_is_derived_from_a_passphrase_and_is_a_fernet_key():
    key = key_from_passphrase("dev-only-secret")
    assert key == key_from_passphrase("dev-only-secret") != key_from_passphrase("another")
    assert "dev-only-secret" not in key
    assert SecretSeal([key]).open(SecretSeal([key]).seal("s")) == "s"


def test_only_sha256_with_64_hex_digits_is_well_formed():
    assert signing.well_formed(SEED_SIGNATURE) and signing.well_formed(SEED_SIGNATURE.upper())
    for header in (None, "", "sha256=", "sha1=" + "0" * 40, "sha256=" + "0" * 63, "sha256=ÿ not hex"):
        assert not signing.well_formed(header), header
