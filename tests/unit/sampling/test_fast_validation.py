"""The fast paths of the feed validation give exactly what the libraries give."""

from __future__ import annotations

import random

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.dk import cvr as stdnum_cvr

from survey_app.sampling.feed_fields import _simple_email, _simple_phone, cvr_checksum_ok

LOCAL = st.from_regex(r"[A-Za-z0-9_+-]{1,12}(\.[A-Za-z0-9_+-]{1,8}){0,2}", fullmatch=True)
LABEL = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
TLD = st.sampled_from(["dk", "com", "example", "DK", "test", "local", "io", "museum"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LOCAL, st.lists(LABEL, min_size=1, max_size=3), TLD)
def test_simple_email_agrees_with_email_validator(local, labels, tld):
    address = f"{local}@{'.'.join(labels)}.{tld}"
    fast = _simple_email(address)
    try:
        expected = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    if fast is not None:  # the fast path only answers when the library accepts the same
        assert fast == expected


def test_simple_email_leaves_the_unusual_to_email_validator():
    assert _simple_email("Kontakt.Person@Firma.DK") == "Kontakt.Person@firma.dk"
    for address in ("a@b", "a..b@x.dk", "a@x.test", "æ@x.dk", "a@xn--bcher-kva.dk", "a@-x.dk"):
        assert _simple_email(address) is None


def test_danish_phone_shortcut_agrees_with_phonenumbers_on_every_prefix():
    rng = random.Random(7)
    for prefix in range(200, 1000):
        for _ in range(3):
            digits = f"{prefix}{rng.randrange(100000):05d}"
            for shape in (digits, "+45" + digits, f"0045 {digits[:2]} {digits[2:4]} {digits[4:]}"):
                number = phonenumbers.parse(shape, "DK")
                valid = phonenumbers.is_valid_number(number)
                expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                assert _simple_phone(shape) == (expected if valid else None), shape


def test_cvr_checksum_agrees_with_stdnum():
    rng = random.Random(3)
    for _ in range(50000):
        value = f"{rng.randrange(10**8):08d}"
        assert cvr_checksum_ok(value) == stdnum_cvr.is_valid(value)
    assert not cvr_checksum_ok("1234567") and not cvr_checksum_ok("DK12345674")
