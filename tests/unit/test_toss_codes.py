"""Toss's card-company and bank code tables: names in Korean and English."""

from __future__ import annotations

import pytest

from wallet.toss.codes import BANKS, CARD_COMPANIES, bank_name, card_company_name


@pytest.mark.parametrize(
    ("code", "ko", "en"),
    [("61", "현대카드", "Hyundai Card"), ("41", "신한카드", "Shinhan Card"),
     ("4V", "VISA", "Visa"), ("w1", "우리카드", "Woori Card")],
)  # fmt: skip
def test_codes_card_company_name_both_languages(code: str, ko: str, en: str) -> None:
    assert card_company_name(code, "ko") == ko
    assert card_company_name(code, "en") == en


def test_codes_bank_name_and_unknown_codes_empty() -> None:
    assert bank_name("88", "ko") == "신한은행"
    assert bank_name("06", "en") == "KB Kookmin Bank"
    assert bank_name("zz") == ""
    assert card_company_name(None) == ""


def test_codes_tables_two_character_codes_with_both_names() -> None:
    for table in (CARD_COMPANIES, BANKS):
        for code, (ko, en) in table.items():
            assert len(code) == 2
            assert code == code.upper()
            assert ko
            assert en.isascii()
