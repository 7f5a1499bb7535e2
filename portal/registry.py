"""The procedures the portal knows, loaded and checked once, and the version each case follows.

A case keeps the procedure version it was raised under (the file's text, stored in `procedure_version`), so
editing a partnership's file changes the rules for new cases only. Every part of the portal (pages, mail,
documents, the reminder sweep) asks here, and an unknown procedure is one error everywhere:
`ProcedureUnavailable`, logged once per id.
"""

from __future__ import annotations

import logging
import threading

from peewee import JOIN, fn

from portal.models import Escalation, ProcedureVersion, utcnow
from portal.procedure import Procedure, ProcedureError, load_all_procedures, procedure_from_text

log = logging.getLogger(__name__)


class ProcedureUnavailable(LookupError):
    """A case's procedure cannot be loaded: its version's text no longer parses, or its id is unknown."""


class Registry:
    def __init__(self) -> None:
        self._configured = ""
        self._loaded: tuple[dict[str, Procedure], Procedure] | None = None
        self._versions: dict[str, Procedure] = {}  # by digest: the same text is the same procedure anywhere
        self._reported: set[str] = set()
        self._lock = threading.Lock()

    def configure(self, configured: str) -> None:
        """The partnership's procedure (a preset id or a file path); loaded on first use, so a broken file
        still lets `flask procedure check` run and say what is wrong."""
        with self._lock:
            self._configured, self._loaded, self._versions, self._reported = configured, None, {}, set()

    def _load(self) -> tuple[dict[str, Procedure], Procedure]:
        with self._lock:
            if self._loaded is None:
                self._loaded = load_all_procedures(self._configured)
            return self._loaded

    def current(self) -> Procedure:
        """The procedure new cases follow."""
        return self._load()[1]

    def by_id(self, procedure_id: str) -> Procedure:
        """The loaded procedure with this id (a preset, or the configured file)."""
        try:
            return self._load()[0][procedure_id]
        except KeyError:
            raise self._unavailable(procedure_id, f"no procedure with id {procedure_id!r} is loaded") from None

    def of_case(self, case: Escalation) -> Procedure:
        """The procedure version the case was raised under."""
        if case.procedure_version_id is None:  # raised before versions were kept, under a file no longer at hand
            return self.by_id(case.procedure_id)
        found = self.of_versions({case.procedure_version_id})
        if case.procedure_version_id not in found:
            raise ProcedureUnavailable(f"The procedure this case follows ({case.procedure_id}) cannot be loaded")
        return found[case.procedure_version_id]

    def of_versions(self, version_ids: set[int]) -> dict[int, Procedure]:
        """Several versions in one query (a list of cases); a text already parsed is not parsed again, and one
        that no longer parses is left out (and logged)."""
        rows = dict(
            ProcedureVersion.select(ProcedureVersion.id, ProcedureVersion.digest)
            .where(ProcedureVersion.id.in_(list(version_ids)))
            .tuples()
        )
        missing = set(rows.values()) - set(self._versions)
        if missing:
            for version in ProcedureVersion.select().where(ProcedureVersion.digest.in_(list(missing))):
                name = f"{version.procedure_id}@{version.digest[:12]}"
                try:
                    self._versions[version.digest] = procedure_from_text(version.text, name, version.procedure_id)
                except ProcedureError as error:
                    self._unavailable(name, str(error))
        return {version_id: self._versions[digest] for version_id, digest in rows.items() if digest in self._versions}

    def of_cases(self, cases: list[Escalation]) -> dict[int, Procedure | None]:
        """Each case's procedure (None where it cannot be loaded), with one query for the whole list."""
        versions = self.of_versions({case.procedure_version_id for case in cases if case.procedure_version_id})
        found: dict[int, Procedure | None] = {}
        for case in cases:
            if case.procedure_version_id is not None:
                found[case.id] = versions.get(case.procedure_version_id)
            else:
                try:
                    found[case.id] = self.by_id(case.procedure_id)
                except ProcedureUnavailable:
                    found[case.id] = None
        return found

    def _unavailable(self, what: str, why: str) -> ProcedureUnavailable:
        if what not in self._reported:
            self._reported.add(what)
            log.error("procedure %s cannot be loaded: %s", what, why)
        return ProcedureUnavailable(f"The procedure this case follows ({what}) cannot be loaded: {why}")


registry = Registry()


def version_for(procedure: Procedure) -> ProcedureVersion:
    """The stored version of this procedure's text, written the first time a case is raised under it."""
    found = ProcedureVersion.get_or_none(ProcedureVersion.digest == procedure.digest)
    if found is None:
        ProcedureVersion.insert(
            procedure_id=procedure.id,
            digest=procedure.digest,
            name=procedure.name[:300],
            text=procedure.text,
            first_used_at=utcnow(),
        ).on_conflict_ignore().execute()
        found = ProcedureVersion.get(ProcedureVersion.digest == procedure.digest)
    return found


def cases_on_other_versions(procedure: Procedure, limit: int = 50) -> tuple[int, list[Escalation]]:
    """Open cases of this procedure id on a version other than this text: (how many, the first `limit`)."""
    older = (Escalation.procedure_id == procedure.id) & (Escalation.status == "open")
    older &= Escalation.procedure_version.is_null() | (ProcedureVersion.digest != procedure.digest)
    query = Escalation.select(Escalation, ProcedureVersion).join(
        ProcedureVersion, join_type=JOIN.LEFT_OUTER, on=(Escalation.procedure_version == ProcedureVersion.id)
    )
    count = query.where(older).select(fn.COUNT(Escalation.id)).scalar()
    return count, list(query.where(older).order_by(Escalation.created_at, Escalation.id).limit(limit))
