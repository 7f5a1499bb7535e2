"""What a procedure asks to be written down at a stage (its `records` key), named once: the forms ask with these
labels and hints, and the case page, the emailed-link page and the PDFs show the answers under the same labels.

Some names are answered when the case is raised (the child, the concern...), and some are the action's own
record (the agreed outcome is what "resolve" asks for); the rest are asked beside the action, and kept in the
event's data under "records".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordField:
    label: str
    hint: str = ""
    required: bool = True  # asked beside resolve, escalate and decide; on "add a record" everything is optional


# Answered on the raise pages: shown from the case itself.
FROM_RAISING = {
    "child": "The child",
    "child_dob": "The child's date of birth",
    "counterpart": "Who the disagreement is with",
    "concern": "The concern",
    "action_taken": "Action already taken",
    "outcome_sought": "Outcome sought",
    "lead_aware": "Whether the safeguarding lead is aware",
    "raiser_role": "The role of the person raising it",
}
# The action's own record: the field the action always asks for.
ACTION_RECORDS = {
    "agreed_outcome": "resolve",
    "outstanding_issues": "resolve",
    "reason_for_escalating": "escalate",
    "final_decision": "decide",
}
# Filled by the portal: the copies the procedure asks for are sent and listed on the case.
AUTOMATIC = {"copies_sent_to": "Who copies were sent to"}
# Asked beside the action, in this order.
ASKED = {
    "discussion": RecordField(
        "Summary of the discussion at this stage",
        "Who met or spoke, when, what was said and what each agency aims to achieve",
    ),
    "areas_of_agreement": RecordField(
        "Areas of agreement", "What the professionals agree about the child's needs and the plan"
    ),
    "areas_of_disagreement": RecordField(
        "Areas of disagreement", "Exactly what is still disputed, and each agency's view"
    ),
    "relevance_to_risk": RecordField(
        "Relevance to the risk to the child", "How far the disagreement bears on the risk of harm to the child"
    ),
    "policy_issues": RecordField(
        "Issues for the partnership's policy or practice (optional)",
        "Any gap or weakness in policy or procedure the case showed, for the Chair's report to the partnership",
        required=False,
    ),
}
KNOWN = set(FROM_RAISING) | set(ACTION_RECORDS) | set(AUTOMATIC) | set(ASKED)
FORM_PREFIX = "record_"


def asked_at(records: tuple[str, ...]) -> list[str]:
    """The names a stage's forms ask beside their own record, in the order above."""
    return [key for key in ASKED if key in records]


def labelled(answers: dict[str, str] | None) -> list[tuple[str, str]]:
    """Stored answers as (label, text), in the order above; a name no longer known keeps its own words."""
    answers = answers or {}
    known = [(ASKED[key].label.removesuffix(" (optional)"), answers[key]) for key in ASKED if answers.get(key)]
    other = [(key.replace("_", " ").capitalize(), text) for key, text in answers.items() if key not in ASKED and text]
    return known + other
