"""Property tests (hypothesis): amounts, orderIds, customerKeys, the vault, link signatures.

Each validator is checked against an independent statement of the contract's rule
(brandpay-contract.md §9, §10), over generated input, including the awkward corners
(bools are ints in Python, `$` also matches before a trailing newline, base64 has
non-canonical spellings).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import Babel, force_locale
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.integration.merchants.conftest import SHOP, make_shop
from wallet.crypto import TokenVault, VaultError
from wallet.extensions import db
from wallet.labels import krw
from wallet.models.member import CUSTOMER_KEY_RE, new_customer_key
from wallet.models.merchant import Merchant
from wallet.models.order import MAX_AMOUNT, MIN_AMOUNT, ORDER_ID_RE, Order, new_order_id
from wallet.services import orders, wallet_links
from wallet.toss.client import _check_customer_key

_KRW_APP = Flask(__name__)
Babel(_KRW_APP)

# The contract's rules, written out independently of the code under test.
ORDER_ID_ALPHABET = frozenset(string.ascii_letters + string.digits + "_-")  # §10
CUSTOMER_KEY_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_=.@")  # §10
_GROUPED = r"(?:0|[1-9][0-9]{0,2}(?:,[0-9]{3})*)"
KRW_TEXT = {"en": re.compile(rf"-?₩{_GROUPED}"), "ko": re.compile(rf"-?{_GROUPED}원")}

# Database-backed properties share one app (and DB) across examples.
DB_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def contract_order_id(value: str) -> bool:
    """contract §10: 6-64 characters of [A-Za-z0-9_-]."""
    return 6 <= len(value) <= 64 and set(value) <= ORDER_ID_ALPHABET


def contract_customer_key(value: str) -> bool:
    """contract §10: ^[A-Za-z0-9\\-_=.@]{2,50}$ (the SDK's own rule)."""
    return 2 <= len(value) <= 50 and set(value) <= CUSTOMER_KEY_ALPHABET


def near(alphabet: frozenset[str], low: int, high: int) -> st.SearchStrategy[str]:
    """Strings around the rule: right alphabet at the edges, plus one stray character."""
    inside = st.text(alphabet=sorted(alphabet), min_size=low - 1, max_size=high + 1)
    stray = st.sampled_from(["\n", "\r", " ", "\x00", "/", "%", "é", "한", "\t", "+"])
    return st.one_of(
        inside,
        st.tuples(inside, stray, st.integers(0, high)).map(
            lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
        ),
        st.text(max_size=80),
    )


# -- amounts ----------------------------------------------------------------------------


@given(
    st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["en", "ko"])
)
def test_krw_any_int_formats_and_parses_back(amount: int, lang: str) -> None:
    """12,300원 in Korean, ₩12,300 in English; the digits read back as the amount."""
    with _KRW_APP.test_request_context("/"), force_locale(lang):
        text = krw(amount)
    assert KRW_TEXT[lang].fullmatch(text), text
    assert int(text.replace("₩", "").replace("원", "").replace(",", "")) == amount


def test_krw_none_is_a_dash() -> None:
    assert krw(None) == "—"


AMOUNT_INPUTS = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=MIN_AMOUNT - 3, max_value=MIN_AMOUNT + 3),
    st.integers(min_value=MAX_AMOUNT - 3, max_value=MAX_AMOUNT + 3),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
)


def valid_amount(value: Any) -> bool:
    """int KRW (a bool is not an amount) within the order limits."""
    return (
        type(value) is int  # noqa: E721 - bool and subclasses are not amounts
        and MIN_AMOUNT <= value <= MAX_AMOUNT
    )


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context (and a request context, for translated error messages)."""
    with app.test_request_context():
        yield app


@DB_SETTINGS
@given(amount=AMOUNT_INPUTS)
def test_order_amount_accepts_exactly_valid_ints(ctx: Flask, amount: Any) -> None:
    before = db.session.scalar(select(func.count()).select_from(Order))
    try:
        order = orders.create_order(amount, "Property order")
    except orders.InvalidOrderError:
        accepted = False
    else:
        accepted = True
        assert order.amount == amount
        assert type(order.amount) is int  # noqa: E721
    after = db.session.scalar(select(func.count()).select_from(Order))
    assert accepted == valid_amount(amount), amount
    assert after - before == int(accepted)


@pytest.fixture
def api_shop(app: Flask) -> Any:
    """A merchant with an API key."""
    with app.app_context():
        return make_shop()


JSON_AMOUNTS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(min_value=MIN_AMOUNT - 2, max_value=MIN_AMOUNT + 2),
    st.integers(min_value=MAX_AMOUNT - 2, max_value=MAX_AMOUNT + 2),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)


@DB_SETTINGS
@given(amount=JSON_AMOUNTS, n=st.integers(0, 10**9))
def test_api_order_amount_accepts_exactly_valid_ints(
    app: Flask, client: FlaskClient, api_shop: Any, amount: Any, n: int
) -> None:
    resp = client.post(
        "/api/v1/orders",
        json={"amount": amount, "order_name": "Property order"},
        headers=api_shop.headers(f"prop-{n}-{id(amount)}-{amount!r}"[:200]),
    )
    # A float like 1000.0 is a JSON number but not a whole number of won here.
    if valid_amount(amount):
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["amount"] == amount
    else:
        assert resp.status_code == 400, (amount, resp.status_code)
        assert resp.get_json()["error"]["code"] == "INVALID_REQUEST"


# -- orderIds and customerKeys ------------------------------------------------------------


def test_order_id_generated_always_matches_contract() -> None:
    for _ in range(2000):
        value = new_order_id()
        assert contract_order_id(value), value
        assert ORDER_ID_RE.match(value)


@given(near(ORDER_ID_ALPHABET, 6, 64))
def test_order_id_validator_accepts_exactly_the_contract(value: str) -> None:
    assert bool(ORDER_ID_RE.match(value)) == contract_order_id(value), repr(value)


@DB_SETTINGS
@given(value=near(ORDER_ID_ALPHABET, 6, 64))
def test_order_find_outside_contract_is_none(ctx: Flask, value: str) -> None:
    assume(not contract_order_id(value))
    assert orders.find(value) is None


def test_customer_key_generated_always_matches_contract() -> None:
    for _ in range(2000):
        value = new_customer_key()
        assert contract_customer_key(value), value
        assert CUSTOMER_KEY_RE.match(value)
        assert _check_customer_key(value) == value


@given(near(CUSTOMER_KEY_ALPHABET, 2, 50))
def test_customer_key_validators_accept_exactly_the_contract(value: str) -> None:
    expected = contract_customer_key(value)
    assert bool(CUSTOMER_KEY_RE.match(value)) == expected, repr(value)
    try:
        _check_customer_key(value)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert accepted == expected, repr(value)


# -- the vault ------------------------------------------------------------------------------

K1 = TokenVault.generate_key()
OLD_VAULT = TokenVault.from_config(f"k1:{K1}")  # before rotation: k1 only
VAULT = TokenVault.from_config(TokenVault.generate_spec("k2") + f",k1:{K1}")
AADS = st.text(min_size=1, max_size=80)


@given(plaintext=st.text(max_size=400), aad=AADS)
def test_vault_round_trip_any_text(plaintext: str, aad: str) -> None:
    token = VAULT.encrypt(plaintext, aad=aad)
    assert token.isascii()
    assert VAULT.decrypt(token, aad=aad) == plaintext
    assert VAULT.key_id_of(token) == "k2"


@given(plaintext=st.text(max_size=100), aad=AADS, other=AADS)
def test_vault_other_aad_refused(plaintext: str, aad: str, other: str) -> None:
    assume(other != aad)
    token = VAULT.encrypt(plaintext, aad=aad)
    with pytest.raises(VaultError):
        VAULT.decrypt(token, aad=other)


@given(
    plaintext=st.text(max_size=100),
    aad=AADS,
    index=st.integers(min_value=0),
    char=st.characters(codec="ascii"),
)
def test_vault_any_single_char_change_refused(
    plaintext: str, aad: str, index: int, char: str
) -> None:
    token = VAULT.encrypt(plaintext, aad=aad)
    index %= len(token)
    assume(token[index] != char)
    changed = token[:index] + char + token[index + 1 :]
    with pytest.raises(VaultError):
        VAULT.decrypt(changed, aad=aad)


@given(plaintext=st.text(max_size=100), aad=AADS)
def test_vault_rotation_round_trip_keeps_plaintext(plaintext: str, aad: str) -> None:
    # Made under a key that is now the older one in the ring: readable, then rotated.
    old = OLD_VAULT.encrypt(plaintext, aad=aad)
    assert VAULT.needs_rotation(old)
    new = VAULT.reencrypt(old, aad=aad)
    assert VAULT.key_id_of(new) == "k2"
    assert VAULT.decrypt(new, aad=aad) == plaintext
    assert VAULT.reencrypt(new, aad=aad) == new


# -- wallet-link signatures -----------------------------------------------------------------


@pytest.fixture
def signed_link(ctx: Flask) -> tuple[str, Any]:
    """A manage link (no order, not single-use) signed by a fresh merchant."""
    shop = make_shop()
    merchant = db.session.get(Merchant, shop.id)
    token = wallet_links.sign_link(merchant, "manage", f"{SHOP}/back")
    return token, merchant


def test_link_signed_unchanged_verifies(signed_link: tuple[str, Any]) -> None:
    token, merchant = signed_link
    verified = wallet_links.verify_link(token, "prop@example.com")
    assert verified.merchant.id == merchant.id
    assert verified.action == "manage"


@DB_SETTINGS
@given(index=st.integers(min_value=0), byte=st.integers(min_value=0, max_value=255))
def test_link_any_single_byte_change_refused(
    signed_link: tuple[str, Any], index: int, byte: int
) -> None:
    token, _merchant = signed_link
    raw = bytearray(token.encode("ascii"))
    index %= len(raw)
    assume(raw[index] != byte)
    raw[index] = byte
    changed = raw.decode("latin-1")
    with pytest.raises(wallet_links.LinkError):
        wallet_links.verify_link(changed, "prop@example.com")


def test_link_signature_non_canonical_base64_refused(
    signed_link: tuple[str, Any],
) -> None:
    # The last character of a 32-byte HMAC in base64url carries 2 unused bits: a
    # spelling that decodes to the same signature bytes must still be refused.
    token, _merchant = signed_link
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    twin = alphabet[alphabet.index(token[-1]) ^ 1]
    with pytest.raises(wallet_links.LinkError):
        wallet_links.verify_link(token[:-1] + twin, "prop@example.com")
