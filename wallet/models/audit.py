"""Audit log entries, hash-chained so edits, deletions and reordering are detectable."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wallet.extensions import db
from wallet.models._types import UTCDateTime, utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    """One security-relevant event; `seq` is unique so the chain cannot fork."""

    __tablename__ = "audit_events"
    # The admin member page lists one subject's entries newest first (migration 0005).
    __table_args__ = (Index("ix_audit_events_subject_seq", "subject", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(120), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action}>"

    def compute_hash(self) -> str:
        """SHA-256 over the previous hash and every field of this entry."""
        return chain_hash(
            self.prev_hash,
            {
                "seq": self.seq,
                "created_at": self.created_at.isoformat(),
                "actor": self.actor,
                "action": self.action,
                "subject": self.subject,
                "details": self.details,
            },
        )

    @property
    def details_dict(self) -> dict[str, Any]:
        """The details as a dict, for display."""
        loaded = json.loads(self.details or "{}")
        return loaded if isinstance(loaded, dict) else {}


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """Canonical JSON so the hash does not depend on key order or spacing."""
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()
