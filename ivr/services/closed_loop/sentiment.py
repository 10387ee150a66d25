"""Sentiment of what callers said, for the languages the analyser can judge.

VADER reads English only: a Spanish comment would come back as a confident 0.0, "neutral",
which is wrong. So every other language is marked not scored instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from ivr.models import Sentiment

SUPPORTED_LANGUAGES = frozenset({"en"})
# VADER's own thresholds on its compound score.
_POSITIVE, _NEGATIVE = 0.05, -0.05


@dataclass(frozen=True)
class Judgement:
    score: float | None  # -1.0 (very negative) to 1.0; None when not scored
    label: Sentiment


@cache
def _analyser() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def judge(text: str, language: str) -> Judgement:
    if language.split("-")[0] not in SUPPORTED_LANGUAGES:
        return Judgement(None, Sentiment.not_scored)
    compound = round(float(_analyser().polarity_scores(text)["compound"]), 4)
    if compound >= _POSITIVE:
        return Judgement(compound, Sentiment.positive)
    if compound <= _NEGATIVE:
        return Judgement(compound, Sentiment.negative)
    return Judgement(compound, Sentiment.neutral)
