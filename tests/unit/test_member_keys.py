"""customerKey: format, uniqueness, unguessability."""

from __future__ import annotations

import math
from collections import Counter

from wallet.models.member import CUSTOMER_KEY_RE, new_customer_key


def test_customer_key_matches_contract_pattern() -> None:
    for _ in range(200):
        assert CUSTOMER_KEY_RE.fullmatch(new_customer_key())


def test_customer_key_is_unique_across_many_draws() -> None:
    keys = {new_customer_key() for _ in range(20_000)}
    assert len(keys) == 20_000


def test_customer_key_carries_at_least_128_bits_of_randomness() -> None:
    # 32 url-safe base64 characters after the prefix: 6 bits each = 192 bits.
    key = new_customer_key()
    random_part = key.removeprefix("cus_")
    assert len(random_part) * 6 >= 128
    # Empirical check that characters are spread over the alphabet (not a counter).
    counts = Counter(
        "".join(new_customer_key().removeprefix("cus_") for _ in range(2000))
    )
    assert len(counts) >= 60
    entropy = -sum(
        c / sum(counts.values()) * math.log2(c / sum(counts.values()))
        for c in counts.values()
    )
    assert entropy > 5.9  # close to log2(64) = 6


def test_customer_key_is_not_derived_from_member_data() -> None:
    assert new_customer_key() != new_customer_key()
