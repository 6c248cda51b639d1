"""Toss's card-company and bank code tables (docs/toss.md › Codes): code → names.

Toss reports issuers (`issuerCode`, `acquirerCode`) and banks (`bankCode`) as two-
character codes; people read the company's name. Korean first, then English.
"""

from __future__ import annotations

# 카드사 코드 (Toss reference › 코드 › 카드사 코드), domestic and overseas brands.
CARD_COMPANIES: dict[str, tuple[str, str]] = {
    "3K": ("기업비씨", "IBK BC"),
    "46": ("광주은행", "Gwangju Bank"),
    "71": ("롯데카드", "Lotte Card"),
    "30": ("KDB산업은행", "KDB Bank"),
    "31": ("BC카드", "BC Card"),
    "51": ("삼성카드", "Samsung Card"),
    "38": ("새마을금고", "MG Saemaul"),
    "41": ("신한카드", "Shinhan Card"),
    "62": ("신협", "Shinhyup"),
    "36": ("씨티카드", "Citi Card"),
    "33": ("우리BC카드", "Woori BC Card"),
    "W1": ("우리카드", "Woori Card"),
    "37": ("우체국예금보험", "Korea Post"),
    "39": ("저축은행중앙회", "Savings Bank"),
    "35": ("전북은행", "Jeonbuk Bank"),
    "42": ("제주은행", "Jeju Bank"),
    "15": ("카카오뱅크", "KakaoBank"),
    "3A": ("케이뱅크", "K Bank"),
    "24": ("토스뱅크", "Toss Bank"),
    "21": ("하나카드", "Hana Card"),
    "61": ("현대카드", "Hyundai Card"),
    "11": ("KB국민카드", "KB Kookmin Card"),
    "91": ("NH농협카드", "NH Nonghyup Card"),
    "34": ("Sh수협은행", "Sh Suhyup Bank"),
    "6D": ("다이너스 클럽", "Diners Club"),
    "4M": ("마스터카드", "Mastercard"),
    "3C": ("유니온페이", "UnionPay"),
    "7A": ("아메리칸 익스프레스", "American Express"),
    "4J": ("JCB", "JCB"),
    "4V": ("VISA", "Visa"),
}

# 은행 코드 (Toss reference › 코드 › 은행 코드).
BANKS: dict[str, tuple[str, str]] = {
    "39": ("경남은행", "Kyongnam Bank"),
    "34": ("광주은행", "Gwangju Bank"),
    "12": ("단위농협", "Nonghyup (local)"),
    "32": ("부산은행", "Busan Bank"),
    "45": ("새마을금고", "MG Saemaul"),
    "64": ("산림조합", "Korea Forestry Cooperative"),
    "88": ("신한은행", "Shinhan Bank"),
    "48": ("신협", "Shinhyup"),
    "27": ("씨티은행", "Citibank Korea"),
    "20": ("우리은행", "Woori Bank"),
    "71": ("우체국예금보험", "Korea Post"),
    "50": ("저축은행중앙회", "Savings Bank"),
    "37": ("전북은행", "Jeonbuk Bank"),
    "35": ("제주은행", "Jeju Bank"),
    "90": ("카카오뱅크", "KakaoBank"),
    "89": ("케이뱅크", "K Bank"),
    "92": ("토스뱅크", "Toss Bank"),
    "81": ("하나은행", "Hana Bank"),
    "54": ("HSBC은행", "HSBC"),
    "03": ("IBK기업은행", "IBK Industrial Bank"),
    "06": ("KB국민은행", "KB Kookmin Bank"),
    "31": ("DGB대구은행", "DGB Daegu Bank"),
    "02": ("KDB산업은행", "KDB Bank"),
    "11": ("NH농협은행", "NH Nonghyup Bank"),
    "23": ("SC제일은행", "SC First Bank"),
    "07": ("Sh수협은행", "Sh Suhyup Bank"),
}


def _name(table: dict[str, tuple[str, str]], code: str | None, locale: str) -> str:
    names = table.get((code or "").upper())
    if names is None:
        return ""
    return names[0] if locale.startswith("ko") else names[1]


def card_company_name(code: str | None, locale: str = "ko") -> str:
    """The card company of an issuer/acquirer code; "" when the code is unknown."""
    return _name(CARD_COMPANIES, code, locale)


def bank_name(code: str | None, locale: str = "ko") -> str:
    """The bank of a bank code; "" when the code is unknown."""
    return _name(BANKS, code, locale)
