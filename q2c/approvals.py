"""Decisions on deals held for approval, sent to the sync on the control topic (`q2c approve`,
`q2c decline`, the console): the sync acts on them and records who decided."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from q2c.core.topics import Topics
from schemas import CODEC
from schemas.decisions import DealApproval
from schemas.keys import deal_key


def decision(deal: str, approved: bool, actor: str, reason: str = "") -> DealApproval:
    return DealApproval(
        deal_crm_id=deal, approved=approved, actor=actor, reason=reason, at=datetime.now(UTC)
    )


async def send_decision(client_kwargs: dict[str, Any], topics: Topics, made: DealApproval) -> None:
    """Publish ``made``, keyed by its deal; returns once the broker acknowledged it."""
    producer = AIOKafkaProducer(**client_kwargs, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.control, key=deal_key(made.deal_crm_id).encode(), value=CODEC.encode(made)
        )
    finally:
        await producer.stop()
