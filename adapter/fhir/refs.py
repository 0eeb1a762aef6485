"""Resolve FHIR references to resource keys `Type/id` (INPUT.md 'Accepted containers').

References come as `Type/id`, absolute URLs, `urn:uuid:` fullUrls and contained `#id`
(contained ones get keys of their own, contained.py), and by identifier (identifiers.py).
Every resource is known by `Type/id`; its Bundle fullUrl and its identifiers are aliases
of that key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from adapter.fhir.identifiers import PREFIX

AMBIGUOUS = "?ambiguous"  # an identifier alias that two resources carry
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(slots=True)
class References:
    aliases: dict[str, str] = field(default_factory=dict)
    team_patients: dict[str, str | None] = field(default_factory=dict)
    # Patient.link type replaced-by: a merged record's references lead to the survivor.
    replaced_by: dict[str, str] = field(default_factory=dict)
    _anonymous: int = 0

    def register(self, kind: str, resource_id: object, full_url: str | None) -> str:
        """The key of a resource, remembering its fullUrl as an alias."""
        if isinstance(resource_id, str) and resource_id:
            key = f"{kind}/{resource_id}"
        elif full_url:
            key = f"{kind}/{full_url.rsplit(':', 1)[-1].rsplit('/', 1)[-1]}"
        else:
            self._anonymous += 1
            key = f"{kind}/#{self._anonymous}"
        if full_url:
            self.aliases[full_url] = key
        elif isinstance(resource_id, str) and _UUID.fullmatch(resource_id):
            # A resource carried without a fullUrl (a Parameters part: gematik `$close`,
            # ePA `$provide-…`) is still named `urn:uuid:<its id>` by its siblings.
            self.aliases.setdefault(f"urn:uuid:{resource_id.lower()}", key)
        return key

    def resolve(self, ref: str | None) -> str | None:
        """The key a reference points to, or None when it cannot point anywhere; a merged
        Patient's references lead to the Patient that replaced it."""
        key = self._key(ref)
        if key is None or key not in self.replaced_by:
            return key  # the usual case, without the cycle guard's set
        seen: set[str] = set()
        while key is not None and key in self.replaced_by and key not in seen:
            seen.add(key)  # a cycle of links ends where it began
            key = self._key(self.replaced_by[key]) or key
        return key

    def _key(self, ref: str | None) -> str | None:
        if not ref:
            return None
        known = self.aliases.get(ref)
        if known is None and ref[:1] in "uU" and ref[:9].lower() == "urn:uuid:":
            known = self.aliases.get(ref.lower())
        if known is not None:
            return known if known != AMBIGUOUS else None
        return _literal_key(ref)

    def note_identifiers(self, key: str, refs: list[str]) -> None:
        """`key` carries these identifiers (identifiers.py); one that two resources carry
        names neither: a reference by it is a finding, not a guess."""
        for ref in refs:
            known = self.aliases.get(ref)
            self.aliases[ref] = key if known in (None, key) else AMBIGUOUS

    def note_replaced(self, key: str, successor_ref: str) -> None:
        """Patient `key` was merged into the Patient `successor_ref` names."""
        self.replaced_by[key] = successor_ref

    def note_team(self, team_ref: str, patient_ref: str | None) -> None:
        """An EpisodeOfCare.team: its CareTeam belongs to the episode's patient."""
        self.team_patients[team_ref] = patient_ref


@lru_cache(maxsize=1 << 16)
def _literal_key(ref: str) -> str | None:
    """The key a literal reference names (`Type/id`, an absolute URL, a `_history` one),
    None for a `urn:` or an identifier reference no alias knows. A function of the text
    alone, so remembered: a practice-year resolves the same few thousand references a
    hundred thousand times."""
    if ref.startswith(("urn:", PREFIX)):
        return None
    parts = ref.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2:
        return f"{parts[-2]}/{parts[-1]}"
    return None
