"""Fixed sandbox data: doc merchant, terms, test cards and banks (contract §3, §5, §9)."""

from __future__ import annotations

from dataclasses import dataclass

# contract §9: the public documentation test keys work out of the box.
DOC_MID = "tvivarepublica"  # mId printed in Toss's doc examples
DOC_CLIENT_KEY = "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq"
DOC_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"  # noqa: S105 - public doc key

# The one payment password every sandbox customer has [G]; shown on the page.
TEST_PIN = "123456"  # noqa: S105 - public test PIN
CUSTOMER_KEY_PATTERN = r"^[A-Za-z0-9\-_=.@]{2,50}$"  # contract §10
ORDER_ID_PATTERN = r"^[A-Za-z0-9_\-=]{6,64}$"  # contract §10 (SDK allows '=')
MIN_AMOUNT = {"CARD": 100, "ACCOUNT": 200}  # contract §9
INSTALLMENT_MINIMUM = 50000  # contract §4/§9: installments only from 50,000 KRW
INSTALLMENT_MONTHS = (0, *range(2, 13))  # 0 = lump sum, else 2-12 months
# [G] The international window's fixed test rate for its estimated USD amount.
USD_RATE = 1350  # KRW per USD
ANONYMOUS = "@@ANONYMOUS"  # v2 SDK: TossPayments.ANONYMOUS, a non-member payment


@dataclass(frozen=True)
class Term:
    """One BrandPay term of contract §5."""

    id: int
    scope: str
    title: str
    required: bool = True
    version: str = "1.0"


TERMS: tuple[Term, ...] = (
    Term(1, "REGISTER", "브랜드페이 서비스 이용약관"),
    Term(2, "REGISTER", "전자금융거래 이용약관"),
    Term(3, "REGISTER", "개인정보 수집 및 이용 동의"),
    Term(4, "REGISTER", "개인정보 제3자 제공 동의"),
    Term(5, "CARD", "카드 간편결제 이용약관"),
    Term(6, "ACCOUNT", "계좌 간편결제 이용약관"),
    Term(7, "BILLING", "자동결제 이용약관"),
)
SCOPES = ("REGISTER", "CARD", "ACCOUNT", "BILLING")
# requestAgreement's Korean labels (contract §6, S5).
SCOPE_LABELS = {
    "회원가입": "REGISTER",
    "카드": "CARD",
    "계좌": "ACCOUNT",
    "빌링": "BILLING",
}


@dataclass(frozen=True)
class TestCard:
    """A card number the hosted registration page accepts."""

    number: str
    card_name: str
    company: str  # v1 SDK `cardCompany`
    issuer_code: str
    card_type: str  # 신용 | 체크 | 기프트
    owner_type: str  # 개인 | 법인
    icon: str
    color: str
    reject: str | None = None  # failUrl code when paying with it
    country: str = "KR"  # Payment.country of a payment made with it


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("4330123412341234", "현대카드", "현대", "61", "신용", "개인", "hyundaicard", "#000000"),
    TestCard("5310123412341234", "신한카드", "신한", "41", "체크", "개인", "shinhancard", "#0046ff"),
    TestCard("9490123412341234", "BC카드", "BC", "31", "신용", "개인", "bccard", "#f0333c"),
    TestCard("5274123412341234", "KB국민카드", "국민", "11", "신용", "법인", "kbcard", "#ffbc00"),
    # Registers fine, every payment with it is declined (contract §8 failUrl code).
    TestCard(
        "4000000000000002", "삼성카드", "삼성", "51", "신용", "개인", "samsungcard",
        "#1428a0", reject="REJECT_CARD_COMPANY",
    ),
)  # fmt: skip
DEFAULT_TEST_CARD = TEST_CARDS[0].number
DECLINED_TEST_CARD = TEST_CARDS[-1].number

# [G] Overseas cards for the international window (the public copies list none).
# Issuer codes are Toss's overseas-brand codes [L]: 4V VISA, 4M Mastercard, 4J JCB,
# 3C UnionPay.
FOREIGN_CARDS: tuple[TestCard, ...] = (
    TestCard("4242424242424242", "VISA", "VISA", "4V", "신용", "개인", "visa", "#1a1f71", country="US"),
    TestCard("5555555555554444", "Mastercard", "MASTER", "4M", "신용", "개인", "master", "#eb001b", country="US"),
    TestCard("3530111333300000", "JCB", "JCB", "4J", "신용", "개인", "jcb", "#0b4ea2", country="JP"),
    TestCard("6200000000000005", "UnionPay", "UNIONPAY", "3C", "신용", "개인", "unionpay", "#e21836", country="CN"),
    TestCard(
        "4000000000009995", "VISA", "VISA", "4V", "신용", "개인", "visa", "#1a1f71",
        reject="REJECT_CARD_COMPANY", country="GB",
    ),
)  # fmt: skip
DEFAULT_FOREIGN_CARD = FOREIGN_CARDS[0].number
DECLINED_FOREIGN_CARD = FOREIGN_CARDS[-1].number

# bankCode -> (v1 SDK bank name, English enum, icon)
BANKS: dict[str, tuple[str, str]] = {
    "88": ("신한", "SHINHAN"),
    "20": ("우리", "WOORI"),
    "06": ("국민", "KOOKMIN"),
    "81": ("하나", "HANA"),
    "90": ("카카오", "KAKAOBANK"),
    "92": ("토스", "TOSSBANK"),
}
DEFAULT_TEST_ACCOUNT = "1002123456789"
DECLINED_TEST_ACCOUNT = "9999999999"  # registers; payments -> REJECT_ACCOUNT_PAYMENT


def card_for(number: str, cards: tuple[TestCard, ...] = TEST_CARDS) -> TestCard | None:
    """The test card with this number (spaces and dashes ignored)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return next((c for c in cards if c.number == digits), None)


def any_card_for(number: str) -> TestCard | None:
    """A domestic or overseas test card with this number."""
    return card_for(number, TEST_CARDS + FOREIGN_CARDS)


def usd_estimate(amount: int) -> str:
    """The international window's estimated USD amount at the fixed test rate."""
    return f"{amount / USD_RATE:,.2f}"


def mask_card(number: str) -> str:
    """Mask like Toss does: `43301234****123*` (contract §3)."""
    return number[:8] + "****" + number[12:15] + "*" * (len(number) - 15)


def mask_account(number: str) -> str:
    """Mask like Toss does: `123***7890` (contract §3)."""
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
