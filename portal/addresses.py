"""One rule for email addresses everywhere: the web forms, the directory's CSV import and `flask users`.

email-validator's syntax check (RFC 5321/5322 as mail systems accept them), with no DNS lookup: the
portal runs on intranets that may not resolve outside names.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254


class InvalidAddress(ValueError):
    """Why an address cannot be used, in words a person can act on."""


def normalise_address(value: str) -> str:
    """The address as the portal stores it (lower case), or InvalidAddress."""
    value = (value or "").strip()
    if len(value) > MAX_LENGTH:
        raise InvalidAddress(f"an email address must be {MAX_LENGTH} characters or fewer")
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        raise InvalidAddress(reason[:1].lower() + reason[1:]) from None
