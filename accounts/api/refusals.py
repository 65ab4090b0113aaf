"""The API's one shape of refusal, made from the forms' own errors: the forms' ValidationError
codes are the API's error codes, so no rule or code is written twice."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.forms import Field
from django.utils.translation import gettext_lazy as _
from ninja import Schema

# A code that is not a plain form error (400) has the status that says what to do about it.
STATUS_OF = {
    "rate_limited": 429,
    "codes_closed": 403,
    "csrf_failed": 403,
    "not_signed_in": 401,
    "flow_off": 404,
    "address_taken": 409,
}
RANKED = [429, 401, 403, 409, 404]  # of several refusals, the one that matters first

LINK_MESSAGES = {
    # The activation and undo pages' own words (templates/accounts/*.html), so both are translated.
    "activation": {
        "expired": _("This activation link has expired or was replaced by a newer one."),
        "used": _("This link was already used, and the account is active."),
        "invalid": _(
            "This activation link is not valid. Make sure you copied the whole link from the email, "
            "or ask for a new one."
        ),
    },
    "undo": {
        "expired": _("This link has expired. If someone else changed your address, write to us."),
        "used": _("This link was already used."),
        "invalid": _("This link is not valid. Make sure you copied the whole link from the email."),
        "taken": _("Your old address now belongs to another account, so it cannot be put back. Write to us."),
    },
}


class Problem(Schema):
    code: str
    field: str | None = None
    message: str
    seconds: int | None = None  # how long to wait (rate_limited)
    tries_left: int | None = None  # wrong_code, to the client that asked for the code


class Refusal(Schema):
    errors: list[Problem]


class Refused(Exception):
    """Raised by an endpoint; answered with `Refusal` and the status its codes call for."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        fields = ["code", "field", "message", "seconds", "tries_left"]
        self.errors = [{name: error.get(name) for name in fields} for error in errors]
        statuses = {STATUS_OF.get(error["code"], 400) for error in self.errors}
        self.status = next((status for status in RANKED if status in statuses), 400)

    @classmethod
    def one(cls, code: str, message, *, field: str | None = None) -> "Refused":
        return cls([{"code": code, "field": field, "message": str(message)}])

    @classmethod
    def from_form(cls, form, *, tries_left: int | None = None) -> "Refused":
        errors = []
        for field, problems in form.errors.as_data().items():
            for problem in problems:
                error = {
                    "code": problem.code or "invalid",
                    "field": None if field == NON_FIELD_ERRORS else field,
                    "message": problem.messages[0],
                }
                if problem.code == "rate_limited":
                    error["seconds"] = problem.params["seconds"]
                if problem.code == "wrong_code":
                    error["tries_left"] = tries_left
                errors.append(error)
        return cls(errors)

    @classmethod
    def from_schema(cls, errors: list[dict]) -> "Refused":
        """A body that is not even the right shape (missing fields, wrong types), in the
        words Django's forms use for the same."""
        problems = []
        for error in errors:
            loc = [part for part in error.get("loc", []) if isinstance(part, str)]
            field = loc[-1] if len(loc) > 2 else None  # ("body", "payload", field)
            missing = error.get("type") == "missing"
            message = Field.default_error_messages["required"] if missing else _("Enter a valid value.")
            problems.append(
                {"code": "required" if missing else "invalid", "field": field, "message": str(message)}
            )
        return cls(problems)

    @property
    def seconds(self) -> int:
        return max((error.get("seconds") or 0 for error in self.errors), default=0)


def refusing(*statuses: int) -> dict:
    """The refusals an endpoint may answer with, for its OpenAPI schema: those named, and 403,
    which a cookie client's POST or DELETE without the CSRF token gets."""
    return {status: Refusal for status in sorted({403, *statuses})}


def bound(form_class, body, **kwargs):
    """The form, bound to the JSON body and valid; raise Refused with its errors otherwise."""
    form = form_class(data=body.dict(), **kwargs)
    if not form.is_valid():
        raise Refused.from_form(form)
    return form


def refused_code(form, refused) -> Refused:
    """The service's refusal of a code, as the code pages word it (CodeRefusals)."""
    form.refuse_code(refused)
    return Refused.from_form(form, tries_left=getattr(refused, "attempts_left", None))
