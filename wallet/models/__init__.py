"""Database models; importing this package registers every table with the metadata."""

from __future__ import annotations

from wallet.models.audit import AuditEvent
from wallet.models.member import Member

__all__ = ["AuditEvent", "Member"]
