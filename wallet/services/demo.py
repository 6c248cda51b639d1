"""Demo data for `make run`: a member and an admin with known passwords (dev only)."""

from __future__ import annotations

from wallet.services import members

DEMO_MEMBER = ("demo@example.com", "demo-password-1")
DEMO_ADMIN = ("admin@example.com", "admin-password-1")


def seed() -> list[str]:
    """Create the demo accounts once; say what exists."""
    for (email, password), role in ((DEMO_MEMBER, "member"), (DEMO_ADMIN, "admin")):
        if members.find_by_email(email) is None:
            members.register(email, password, role=role)
    return describe()


def describe() -> list[str]:
    """The demo logins, for printing."""
    return [
        f"  {role:<7} {email} / {password}"
        for (email, password), role in ((DEMO_MEMBER, "member"), (DEMO_ADMIN, "admin"))
    ]
