"""Detoxification is not substitution, unless it turns into one (R-NOT-1, R-NOT-5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from adapter.domain.model import Cover, Episode, Finding

_DETOX_LIMIT_DAYS = 30  # R-NOT-1: a detox of at most 30 days is not reported
_GAP_LIMIT_DAYS = 10  # R-EP-3: ten days without a drug end a phase


def settle_detox(
    covers: tuple[Cover, ...], episodes: tuple[Episode, ...], *, as_of: date
) -> tuple[tuple[Cover, ...], list[Finding]]:
    """Drop the covers of short detox episodes; keep those that turned into substitution.

    A detox followed within a day by a substitution EpisodeOfCare is reported from its
    first covered day, with the substance the substitution is carried out with (004
    §13.1 example B), once the first substitution drug shows it (R-NOT-5, D-4).
    """
    detoxes = {e.key: e for e in episodes if e.kind == "detox"}
    if not detoxes:
        return covers, []
    substitutions = [e for e in episodes if e.kind == "substitution" and e.start is not None]
    kept: list[Cover] = []
    dropped: dict[str, list[str]] = {}
    for cover in covers:
        detox = detoxes.get(cover.episode or "")
        if detox is None:
            kept.append(cover)
            continue
        turned = _substitution_drug(detox, substitutions, covers, detoxes, as_of)
        if turned is not None:
            kept.append(replace(cover, substance=turned.substance, reportable_from=turned.start))
        elif _length(detox, cover, as_of) > _DETOX_LIMIT_DAYS:
            # Known to be more than a detox on its 31st day, not before (D-4).
            known = (detox.start or cover.start) + timedelta(days=_DETOX_LIMIT_DAYS)
            kept.append(replace(cover, reportable_from=max(known, cover.start)))
        else:
            dropped.setdefault(detox.key, []).append(cover.source)
    findings = [
        Finding(
            "info",
            "R-NOT-1",
            f"Events of the detoxification {key} (at most 30 days) are not reported.",
            (key, *sources[:3]),
        )
        for key, sources in dropped.items()
    ]
    return tuple(kept), findings


def _substitution_drug(
    detox: Episode,
    substitutions: list[Episode],
    covers: tuple[Cover, ...],
    detoxes: dict[str, Episode],
    as_of: date,
) -> Cover | None:
    """The first cover of the substitution that follows the detox, when one has begun
    "unmittelbar anschließend" (004 §13.1): within the ten days after the detox's last day
    with a drug, which would have ended a phase (R-EP-3). Later, the patient needed no
    substitution drug after the detox, and the substitution is a treatment of its own."""
    follower = _following_substitution(detox, substitutions, as_of)
    if follower is None:
        return None
    follower_start = follower.start
    assert follower_start is not None  # filtered by the caller
    own = [c.end for c in covers if c.episode == detox.key]
    if not own:
        return None
    latest = min(as_of, max(own) + timedelta(days=_GAP_LIMIT_DAYS))

    def belongs(cover: Cover) -> bool:
        if cover.episode == follower.key:
            return True
        return cover.episode not in detoxes and cover.start >= follower_start

    candidates = [c for c in covers if c.start <= latest and belongs(c)]
    return min(candidates, key=lambda c: (c.start, c.source), default=None)


def _following_substitution(
    detox: Episode, substitutions: list[Episode], as_of: date
) -> Episode | None:
    """The substitution episode beginning at most a day after the detox, or, for a detox
    without an end, beginning while it runs (the substitution takes it over)."""
    for episode in substitutions:
        start = episode.start
        assert start is not None  # filtered by the caller
        if (detox.start is not None and start < detox.start) or start > as_of:
            continue
        if detox.end is None or start <= detox.end + timedelta(days=1):
            return episode
    return None


def _length(detox: Episode, cover: Cover, as_of: date) -> int:
    start = detox.start or cover.start
    end = detox.end or as_of
    return (end - start).days + 1
