"""Small frozen result types returned above the model: moments in seconds and retrieval hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["Moment", "RetrievalHit", "SentenceGrounding", "ParagraphResult"]


@dataclass(frozen=True)
class Moment:
    """A predicted moment: ``start`` and ``end`` in seconds, ``score`` from the score map, ``rank`` from 1."""

    start: float
    end: float
    score: float
    rank: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RetrievalHit:
    """One retrieved video: its id, rank (from 1) and cosine score."""

    video_id: str
    rank: int
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SentenceGrounding:
    """The moments of one sentence in one video, best first."""

    sentence: str
    moments: tuple[Moment, ...]

    def to_dict(self) -> dict:
        return {"sentence": self.sentence, "moments": [moment.to_dict() for moment in self.moments]}


@dataclass(frozen=True)
class ParagraphResult:
    """A retrieved video with the grounding of every sentence of the paragraph in it."""

    hit: RetrievalHit
    duration: float
    sentences: tuple[SentenceGrounding, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {**self.hit.to_dict(), "duration": self.duration, "sentences": [s.to_dict() for s in self.sentences]}
