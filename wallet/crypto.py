"""TokenVault: AES-256-GCM encryption of stored BrandPay tokens, with a key ring."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["TokenVault", "VaultError"]

_VERSION = "v1"
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_KEY_BYTES = 32  # AES-256
_NONCE_BYTES = 12  # GCM's native nonce size; random is safe far beyond our row counts
_TAG_BYTES = 16


class VaultError(Exception):
    """A ciphertext could not be opened; the message never holds plaintext or keys."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict base64url, padding optional (the stdlib skips stray characters)."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_key_id(kid: object) -> str:
    if not isinstance(kid, str) or not _KEY_ID.fullmatch(kid):
        raise ValueError("vault key id must match [A-Za-z0-9_-]{1,32}")
    return kid


class TokenVault:
    """AES-256-GCM key ring: the first key encrypts, every key decrypts."""

    def __init__(self, keys: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> None:
        items: list[tuple[str, bytes]] = list(
            keys.items() if isinstance(keys, Mapping) else keys
        )
        if not items:
            raise ValueError("the vault needs at least one key")
        self._ciphers: dict[str, AESGCM] = {}
        seen: set[bytes] = set()
        for kid, key in items:
            _check_key_id(kid)
            if kid in self._ciphers:
                raise ValueError(f"duplicate vault key id {kid!r}")
            if not isinstance(key, bytes) or len(key) != _KEY_BYTES:
                raise ValueError(
                    f"vault key {kid!r} must be exactly {_KEY_BYTES} bytes"
                )
            if key in seen:
                # Surely a copy-paste slip: rotating to the same key changes nothing.
                raise ValueError(f"vault key {kid!r} repeats another id's key")
            seen.add(key)
            self._ciphers[kid] = AESGCM(key)
        self._primary = items[0][0]

    @classmethod
    def from_config(cls, spec: str) -> TokenVault:
        """Build from `"kid1:<base64url 32 bytes>,kid2:<...>"`, primary first."""
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError("vault key spec is empty")
        items: list[tuple[str, bytes]] = []
        for n, entry in enumerate(spec.split(","), start=1):
            kid, sep, encoded = (part.strip() for part in entry.partition(":"))
            # Messages name the entry's position, never its text: it may hold a key.
            if not sep or not _KEY_ID.fullmatch(kid):
                raise ValueError(
                    f"vault key spec entry {n}: expected <key id>:<base64url key>, "
                    "key id matching [A-Za-z0-9_-]{1,32}"
                )
            try:
                key = _b64decode(encoded.rstrip("="))  # padding is optional
            except (ValueError, binascii.Error):
                raise ValueError(
                    f"vault key {kid!r} is not base64url of {_KEY_BYTES} bytes"
                ) from None
            if len(key) != _KEY_BYTES:
                raise ValueError(
                    f"vault key {kid!r} is not base64url of {_KEY_BYTES} bytes"
                )
            items.append((kid, key))
        return cls(items)

    @staticmethod
    def generate_key() -> str:
        """A new random key, base64url-encoded."""
        return _b64encode(secrets.token_bytes(_KEY_BYTES))

    @staticmethod
    def generate_spec(kid: str) -> str:
        """A one-key spec entry `kid:<new key>`; prepend it to rotate."""
        return f"{_check_key_id(kid)}:{TokenVault.generate_key()}"

    @property
    def primary_key_id(self) -> str:
        """The id of the key new ciphertexts use."""
        return self._primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        """All key ids, primary first."""
        return tuple(self._ciphers)

    def __repr__(self) -> str:
        return f"TokenVault(key_ids={list(self._ciphers)!r})"

    @staticmethod
    def _associated(kid: str, aad: str) -> bytes:
        # The header is authenticated too, so a version or key id cannot be swapped.
        if not isinstance(aad, str) or not aad:
            raise ValueError(
                "aad must be a non-empty str (e.g. '<customerKey>:<purpose>')"
            )
        return f"{_VERSION}.{kid}.".encode("ascii") + aad.encode("utf-8")

    def encrypt(self, plaintext: str, *, aad: str) -> str:
        """Encrypt with the primary key; `aad` binds the text to its row and purpose."""
        if not isinstance(plaintext, str):
            raise TypeError("plaintext must be a str")
        kid = self._primary
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[kid].encrypt(
            nonce, plaintext.encode("utf-8"), self._associated(kid, aad)
        )
        return f"{_VERSION}.{kid}.{_b64encode(nonce + sealed)}"

    def decrypt(self, token: str, *, aad: str) -> str:
        """Decrypt with whichever key the token names; VaultError if anything is off."""
        kid, blob = self._split(token)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise VaultError(f"unknown vault key id {kid!r}")
        associated = self._associated(kid, aad)
        nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        try:
            plaintext = cipher.decrypt(nonce, sealed, associated)
        except InvalidTag:
            raise VaultError(
                "ciphertext failed authentication (wrong row/purpose, key or tampered)"
            ) from None
        return plaintext.decode("utf-8")

    def key_id_of(self, token: str) -> str:
        """The key id a ciphertext was made with."""
        return self._split(token)[0]

    def needs_rotation(self, token: str) -> bool:
        """Whether the ciphertext uses a key other than the primary."""
        return self.key_id_of(token) != self._primary

    def reencrypt(self, token: str, *, aad: str) -> str:
        """Move a ciphertext to the primary key (unchanged if already there)."""
        plaintext = self.decrypt(token, aad=aad)  # authenticates even when unchanged
        if not self.needs_rotation(token):
            return token  # re-running rotation writes nothing new
        return self.encrypt(plaintext, aad=aad)

    @staticmethod
    def _split(token: str) -> tuple[str, bytes]:
        if not isinstance(token, str):
            raise VaultError("ciphertext must be a str")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _VERSION:
            raise VaultError("not a v1 vault ciphertext")
        _, kid, body = parts
        if not _KEY_ID.fullmatch(kid):
            raise VaultError("malformed vault key id")
        try:
            blob = _b64decode(body)
        except (ValueError, binascii.Error):
            raise VaultError("malformed vault ciphertext") from None
        # Non-canonical encodings would let two strings stand for one ciphertext.
        if _b64encode(blob) != body or len(blob) < _NONCE_BYTES + _TAG_BYTES:
            raise VaultError("malformed vault ciphertext")
        return kid, blob
