"""What people say about a verdict ("this is wrong because ..."), kept without personal data:
the content's hash, the verdict they saw, which regime or finding they dispute, their words
(bounded) and the time. No client address, no API key, no content is kept."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from watermark.errors import InvalidInput

__all__ = ["FEEDBACK_TOPICS", "Feedback", "FeedbackStore"]

FEEDBACK_TOPICS = ("verdict", "watermark", "credentials", "label", "compliance", "other")
Topic = Literal["verdict", "watermark", "credentials", "label", "compliance", "other"]
_MAX_COMMENT = 2000


@dataclass(frozen=True)
class Feedback:
    """One piece of feedback as kept."""

    feedback_id: str
    created_at: datetime
    content_sha256: str
    verdict_seen: str
    topic: str
    comment: str


class FeedbackStore:
    """The ``assay_feedback`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.metadata = sa.MetaData()
        self.table = sa.Table(
            "assay_feedback",
            self.metadata,
            sa.Column("feedback_id", sa.String(40), primary_key=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("content_sha256", sa.String(64), nullable=False, index=True),
            sa.Column("verdict_seen", sa.String(40), nullable=False),
            sa.Column("topic", sa.String(20), nullable=False),
            sa.Column("comment", sa.Text, nullable=False),
        )

    def create_tables(self) -> FeedbackStore:
        """Create the table if needed; returns self."""
        self.metadata.create_all(self.engine)
        return self

    def add(self, *, content_sha256: str, verdict_seen: str, topic: str, comment: str) -> Feedback:
        """Keep one piece of feedback.

        Raises:
            InvalidInput: a hash that is not 64 hex digits, an unknown topic, an empty or too long comment.
        """
        digest = content_sha256.strip().lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise InvalidInput("content_sha256 must be the 64 hex digits of the report's content_sha256")
        if topic not in FEEDBACK_TOPICS:
            raise InvalidInput(f"topic must be one of {', '.join(FEEDBACK_TOPICS)}")
        text = comment.strip()
        if not text or len(text) > _MAX_COMMENT:
            raise InvalidInput(f"the comment must have 1 to {_MAX_COMMENT} characters")
        item = Feedback(
            feedback_id=f"fb-{uuid.uuid4().hex}",
            created_at=datetime.now(UTC),
            content_sha256=digest,
            verdict_seen=verdict_seen[:40],
            topic=topic,
            comment=text,
        )
        with self.engine.begin() as conn:
            conn.execute(self.table.insert().values(**item.__dict__))
        return item

    def recent(self, limit: int = 100) -> list[Feedback]:
        """The latest feedback, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.table).order_by(self.table.c.created_at.desc()).limit(limit))
            return [Feedback(**row._asdict()) for row in rows]
