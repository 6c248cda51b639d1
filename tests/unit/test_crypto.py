"""TokenVault: AES-256-GCM key ring bound to customerKey and purpose."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet.crypto import TokenVault, VaultError

KEY_A = base64.urlsafe_b64encode(bytes(range(32))).decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(100, 132))).decode().rstrip("=")
TOKEN = "Xy0EQM5Ab4kL9-access-token"
AAD = "cust_7Jq2mZ:access"


def vault(spec: str = f"k1:{KEY_A}") -> TokenVault:
    return TokenVault.from_config(spec)


def flip(token: str, index: int) -> str:
    """Flip one bit of the decoded ciphertext at `index` (negative from the end)."""
    head, body = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[index] ^= 0x01
    return f"{head}.{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"


def test_vault_round_trip_returns_plaintext() -> None:
    v = vault()
    token = v.encrypt(TOKEN, aad=AAD)
    assert token.startswith("v1.k1.")
    assert token.isascii()
    assert TOKEN not in token
    assert v.decrypt(token, aad=AAD) == TOKEN


def test_vault_encrypt_twice_uses_fresh_nonces() -> None:
    v = vault()
    assert v.encrypt(TOKEN, aad=AAD) != v.encrypt(TOKEN, aad=AAD)


def test_vault_ciphertext_moved_to_other_customer_fails() -> None:
    v = vault()
    token = v.encrypt(TOKEN, aad="cust_alice:access")
    with pytest.raises(VaultError):
        v.decrypt(token, aad="cust_bob:access")


def test_vault_ciphertext_swapped_between_purposes_fails() -> None:
    v = vault()
    access = v.encrypt(TOKEN, aad="cust_alice:access")
    with pytest.raises(VaultError):
        v.decrypt(access, aad="cust_alice:refresh")


@pytest.mark.parametrize("index", [0, 11, 12, 20, -1])  # nonce, body, tag
def test_vault_tampered_byte_fails(index: int) -> None:
    v = vault()
    token = v.encrypt(TOKEN, aad=AAD)
    with pytest.raises(VaultError):
        v.decrypt(flip(token, index), aad=AAD)


def test_vault_key_id_swapped_in_header_fails() -> None:
    # Both keys known, but the header is authenticated: relabelling must not work.
    v = vault(f"k1:{KEY_A},k2:{KEY_B}")
    token = v.encrypt(TOKEN, aad=AAD)
    with pytest.raises(VaultError):
        v.decrypt(token.replace("v1.k1.", "v1.k2.", 1), aad=AAD)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "v2.k1.AAAA",
        "v1.k1",
        "v1.k1.AAAA",  # too short for nonce + tag
        "v1.k1.AAAA.AAAA",
        "v1.bad*kid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.k1.AAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.k1.AAAAAAAAAAAAAAAA+AAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_vault_malformed_ciphertext_raises_vault_error(token: str) -> None:
    with pytest.raises(VaultError):
        vault().decrypt(token, aad=AAD)


def test_vault_unknown_key_id_raises_vault_error() -> None:
    token = vault(f"old:{KEY_A}").encrypt(TOKEN, aad=AAD)
    with pytest.raises(VaultError, match="unknown vault key id 'old'"):
        vault(f"new:{KEY_B}").decrypt(token, aad=AAD)


def test_vault_error_messages_hold_no_plaintext_or_key() -> None:
    v = vault()
    token = v.encrypt(TOKEN, aad=AAD)
    for bad_token, aad in ((token, "x:y"), (flip(token, 5), AAD)):
        with pytest.raises(VaultError) as info:
            v.decrypt(bad_token, aad=aad)
        text = str(info.value) + repr(info.value)
        assert TOKEN not in text
        assert KEY_A not in text
        assert info.value.__cause__ is None


def test_vault_old_key_decrypts_after_new_primary_and_needs_rotation() -> None:
    old = vault(f"k1:{KEY_A}")
    token = old.encrypt(TOKEN, aad=AAD)
    assert not old.needs_rotation(token)
    rotated = vault(f"k2:{KEY_B},k1:{KEY_A}")
    assert rotated.primary_key_id == "k2"
    assert rotated.decrypt(token, aad=AAD) == TOKEN
    assert rotated.key_id_of(token) == "k1"
    assert rotated.needs_rotation(token)
    assert rotated.key_id_of(rotated.encrypt(TOKEN, aad=AAD)) == "k2"


def test_vault_reencrypt_moves_to_primary_then_old_key_can_go() -> None:
    token = vault(f"k1:{KEY_A}").encrypt(TOKEN, aad=AAD)
    rotated = vault(f"k2:{KEY_B},k1:{KEY_A}")
    moved = rotated.reencrypt(token, aad=AAD)
    assert rotated.key_id_of(moved) == "k2"
    assert not rotated.needs_rotation(moved)
    assert rotated.reencrypt(moved, aad=AAD) == moved  # safe to re-run
    only_new = vault(f"k2:{KEY_B}")
    assert only_new.decrypt(moved, aad=AAD) == TOKEN
    with pytest.raises(VaultError):
        only_new.decrypt(token, aad=AAD)


def test_vault_reencrypt_with_wrong_aad_fails() -> None:
    token = vault(f"k1:{KEY_A}").encrypt(TOKEN, aad=AAD)
    with pytest.raises(VaultError):
        vault(f"k2:{KEY_B},k1:{KEY_A}").reencrypt(token, aad="cust_bob:access")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (KEY_A, "entry 1"),  # key id forgotten
        (f"k1:{KEY_A},{KEY_B}", "entry 2"),
        (f"bad id:{KEY_A}", "entry 1"),
        (f"{'k' * 33}:{KEY_A}", "entry 1"),
        (f"k1:{KEY_A},k1:{KEY_B}", "duplicate vault key id 'k1'"),
        ("k1:" + base64.urlsafe_b64encode(bytes(16)).decode(), "32 bytes"),
        ("k1:" + base64.urlsafe_b64encode(bytes(33)).decode(), "32 bytes"),
        ("k1:not*base64!", "32 bytes"),
        (f"k1:{KEY_A},k2:{KEY_A}", "repeats"),
    ],
)
def test_vault_bad_spec_rejected_without_echoing_keys(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        TokenVault.from_config(spec)
    for key in (KEY_A, KEY_B, KEY_A.rstrip("=")):
        assert key not in str(info.value)


def test_vault_rejects_empty_aad() -> None:
    with pytest.raises(ValueError, match="aad"):
        vault().encrypt(TOKEN, aad="")


def test_vault_generate_spec_builds_usable_vault() -> None:
    spec = TokenVault.generate_spec("2025-01")
    v = TokenVault.from_config(f"{spec},k1:{KEY_A}")
    assert v.key_ids == ("2025-01", "k1")
    assert len(base64.urlsafe_b64decode(TokenVault.generate_key() + "=")) == 32
    assert TokenVault.generate_key() != TokenVault.generate_key()
    with pytest.raises(ValueError, match="key id"):
        TokenVault.generate_spec("no.dots")


def test_vault_repr_shows_only_key_ids() -> None:
    text = repr(vault(f"k2:{KEY_B},k1:{KEY_A}"))
    assert text == "TokenVault(key_ids=['k2', 'k1'])"


@given(plaintext=st.text(), customer=st.text(min_size=1), purpose=st.text())
def test_vault_round_trip_property(plaintext: str, customer: str, purpose: str) -> None:
    v = vault(f"k2:{KEY_B},k1:{KEY_A}")
    aad = f"{customer}:{purpose}"
    token = v.encrypt(plaintext, aad=aad)
    assert v.decrypt(token, aad=aad) == plaintext
    assert v.decrypt(v.reencrypt(token, aad=aad), aad=aad) == plaintext
    with pytest.raises(VaultError):
        v.decrypt(token, aad=aad + "x")
