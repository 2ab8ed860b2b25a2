"""Which sentence answers: a small linear scorer over what the search measured and what the
sentence holds, trained on PIAF dev (``bench/train_lead.py``) and shipped as plain numbers.

Each candidate sentence (of the best passages) is described by a few features: its cosine
with the question against the best candidate's, its share of the question's words (plain
and weighted by rarity), its passage's fused score, whether it holds the kind of answer the
question asks for (a date for "when", a number for "how many"...), whether it only says
what could be ("pourraient signer"), its length. The weights make a softmax over the
candidates of one question: the sentence most likely to hold the answer leads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from ..types import Hit, ScoredSentence
from .kinds import Cues, people_named, sentence_cues
from .late import LateInteraction, gaps

FEATURES = (
    "similarity_gap",  # cosine with the question minus the best candidate's (<= 0)
    "focus_gap",  # the same for the question as typed (a follow-up), else similarity_gap
    "coverage",  # share of the question's words in the sentence
    "rare_coverage",  # the same, weighted by rarity
    "passage",  # the passage's fused score over the best passage's
    "first_passage",  # 1 for the best passage
    "kind_match",  # the question asks for a kind of answer and the sentence holds one
    "kind_miss",  # it asks for one and the sentence holds none
    "speculative",  # the sentence says what could be ("pourraient", "could")
    "short",  # fewer than 60 characters
    "log_length",  # log of the length in characters, centred on 150
    "late_gap",  # late interaction (MaxSim) with the question as asked, minus the best candidate's; 0 without
)
WEIGHTS_FILE = "lead_weights.json"


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    sentence: ScoredSentence
    cues: Cues
    features: tuple[float, ...]


def candidates(
    hits: Sequence[Hit],
    question: str,
    kind: str | None,
    sentences: Sequence[Sequence[ScoredSentence]],
    late: LateInteraction | None = None,
) -> list[Candidate]:
    """The features of every sentence of ``hits`` (``sentences[i]`` are hit i's to consider) for
    ``question``, as asked, which asks for a ``kind`` of answer."""
    pairs = [(h, s) for h, ss in zip(hits, sentences, strict=True) for s in ss]
    if not pairs:
        return []
    late_scores = late.scores(question, [s.text for _, s in pairs]) if late is not None else None
    late_gaps = gaps(late_scores) if late_scores is not None else [0.0] * len(pairs)
    best = max(s.similarity for _, s in pairs)
    focused = [s.focus_similarity for _, s in pairs if s.focus_similarity is not None]
    best_focus = max(focused) if focused else None
    top = max((h.score for h in hits), default=1.0) or 1.0
    first = hits[0].rank if hits else 1
    people = people_named([s.text for _, s in pairs])
    out = []
    for (hit, sentence), late_gap in zip(pairs, late_gaps, strict=True):
        cues = sentence_cues(sentence.text, question, people)
        gap = sentence.similarity - best
        focus_gap = (
            sentence.focus_similarity - best_focus
            if sentence.focus_similarity is not None and best_focus is not None
            else gap
        )
        features = (
            gap,
            focus_gap,
            sentence.coverage,
            sentence.rare_coverage,
            hit.score / top,
            float(hit.rank == first),
            float(kind is not None and kind in cues.kinds),
            float(kind is not None and kind not in cues.kinds),
            float(cues.speculative),
            float(len(sentence.text) < 60),
            math.log(max(len(sentence.text), 10) / 150),
            float(late_gap),
        )
        out.append(Candidate(hit, sentence, cues, features))
    return out


@dataclass(frozen=True)
class LeadScorer:
    """A linear score per candidate; ``probabilities`` is their softmax within one question."""

    weights: tuple[float, ...]
    bias: float = 0.0

    @classmethod
    def bundled(cls) -> LeadScorer:
        """The weights trained on PIAF dev, shipped with ragbot."""
        data = json.loads(resources.files(__package__).joinpath(WEIGHTS_FILE).read_text(encoding="utf-8"))
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> LeadScorer:
        names = tuple(data["features"])
        if names != FEATURES:
            raise ValueError(f"weights for features {names}, this ragbot computes {FEATURES}")
        return cls(tuple(float(w) for w in data["weights"]), float(data.get("bias", 0.0)))

    def score(self, candidate: Candidate) -> float:
        return self.bias + sum(w * x for w, x in zip(self.weights, candidate.features, strict=True))

    def probabilities(self, cands: Sequence[Candidate], penalties: Sequence[float] = ()) -> list[float]:
        """Softmax of the candidates' scores, each less its penalty (log-odds), if any."""
        scores = [self.score(c) - p for c, p in zip(cands, penalties or [0.0] * len(cands), strict=True)]
        if not scores:
            return []
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]
