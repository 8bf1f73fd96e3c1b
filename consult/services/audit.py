"""The audit log: who (which account) did what to what, and when."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from consult.models import Account, AuditEvent


def record(
    session: Session, account: Account | None, action: str, target: str = "", **detail: Any
) -> AuditEvent:
    """Add an event to the audit log; flush (it commits with the change it records)."""
    event = AuditEvent(
        account_id=account.id if account else None,
        action=action,
        target=target[:200],
        detail=json.dumps(detail, ensure_ascii=False, default=str)[:4000],
    )
    session.add(event)
    session.flush()
    return event


def recent(
    session: Session, *, limit: int = 100, before: int | None = None
) -> list[tuple[AuditEvent, str | None]]:
    """Return the newest events (older than the event id `before`) with the account's name."""
    query = (
        select(AuditEvent, Account.username)
        .join(Account, col(Account.id) == AuditEvent.account_id, isouter=True)
        .order_by(col(AuditEvent.id).desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(col(AuditEvent.id) < before)
    return [(event, username) for event, username in session.exec(query).all()]
