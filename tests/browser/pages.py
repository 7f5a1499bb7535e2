"""Page objects: the portal as a person uses it, by visible labels and roles.

Every step that loads a page ends with `checks()` (axe-core, GOV.UK Frontend started, no console errors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playwright.sync_api import Locator, Page, expect

from portal import links
from portal.db import database
from portal.models import ActionLink, Escalation
from tests.browser.conftest import PASSWORD, PageChecks


@dataclass
class Answers:
    """What a practitioner types into the raise journey."""

    subject: str = "A child"  # or "An unborn baby", or "No particular child: ..." (SUBJECT_NONE)
    child_name: str = "Jamie Rivers"
    due: tuple[str, str, str] = ("", "", "")  # an unborn baby's expected date of delivery
    dob: tuple[str, str, str] = ("3", "5", "2015")
    identifier: str = "CSC-20417"
    on_plan: str = "Yes"
    looked_after: str = "No"
    chair_name: str = "Ruth IRO"
    chair_email: str = "cp.chair.or.iro@demo.safeguarding.children.partnership.demo.example"
    role: str = "Social Worker"
    joint_name: str = ""  # someone from another agency raising it jointly, if any
    joint_email: str = ""
    joint_agency: str = ""
    contact_details: str = "020 7946 0000, sam.patel@csc.demo.example"
    counterpart_name: str = "DC Jo Williams"
    counterpart_email: str = "officer@demo.example"
    counterpart_agency: str = "Metropolitan Police"
    categories: list[str] = field(default_factory=lambda: ["Levels of need, thresholds and referrals"])
    category_other: str = ""
    summary: str = "The referral about Jamie was closed without a strategy discussion."
    action_taken: str = "Phoned the duty sergeant on 2 March and met the officer on 4 March."
    outcome: str = "A strategy discussion this week and a joint visit."
    lead_aware: str = "Yes"
    lead_name: str = "Priya Lead"
    imminent_risk: str = "No"
    circumstance: str = "None of these"


class Portal:
    """The signed-out or signed-in portal in one browser tab."""

    def __init__(self, page: Page, checks: PageChecks) -> None:
        self.page = page
        self.checks = checks

    # --- Navigation ------------------------------------------------------------------------------

    def open(self, path: str) -> Portal:
        self.page.goto(path)
        self.checks()
        return self

    def follow(self, name: str | re.Pattern, exact: bool = False) -> Portal:
        self.page.get_by_role("link", name=name, exact=exact).click()
        self.checks()
        return self

    def press(self, name: str | re.Pattern) -> Portal:
        self.page.get_by_role("button", name=name, exact=True).click()
        self.checks()
        return self

    def heading(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    def expect_heading(self, text: str | re.Pattern, timeout: float | None = None) -> None:
        expect(self.heading()).to_have_text(text, timeout=timeout)

    def confirm_address(self, email: str) -> None:
        """An emailed link to an address not marked secure asks for that address before it shows the record."""
        self.expect_heading("Confirm your email address")
        self.page.get_by_label("The email address this link was sent to").fill(email)
        self.press("Continue")
        self.checks()

    def group(self, legend: str) -> Locator:
        """A fieldset, by its legend."""
        return self.page.get_by_role("group", name=legend, exact=True)

    def choose(self, legend: str, option: str) -> None:
        self.group(legend).get_by_label(option, exact=True).check()

    def error_summary(self) -> Locator:
        return self.page.get_by_role("alert").filter(has_text="There is a problem")

    def expect_errors(self, *messages: str) -> None:
        """The GOV.UK error summary lists these messages (each the start of one), each shown inline too;
        the title starts with Error."""
        summary = self.error_summary()
        expect(summary).to_be_visible()
        links = summary.get_by_role("link")
        expect(links).to_have_text([re.compile("^" + re.escape(message)) for message in messages])
        expect(self.page).to_have_title(re.compile(r"^Error: "))
        for message in messages:
            expect(self.page.locator(".govuk-error-message").filter(has_text=message)).to_be_visible()

    def flash(self) -> Locator:
        return self.page.get_by_role("region", name="Important")

    def summary_value(self, key: str) -> Locator:
        """The value beside `key` in a GOV.UK summary list."""
        row = self.page.locator(".govuk-summary-list__row").filter(
            has=self.page.locator(".govuk-summary-list__key", has_text=re.compile(rf"^\s*{re.escape(key)}\s*$"))
        )
        return row.locator(".govuk-summary-list__value")

    # --- Signing in and out ----------------------------------------------------------------------

    def sign_in(self, email: str, password: str = PASSWORD) -> Portal:
        if "/sign-in" not in self.page.url:
            self.open("/sign-in")
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.press("Sign in")
        return self

    def sign_out(self) -> Portal:
        self.press("Sign out")
        self.expect_heading("Sign in")
        expect(self.flash()).to_contain_text("You have signed out.")
        return self

    # --- Raising an escalation -------------------------------------------------------------------

    def start_raising(self, subject: str = "A child") -> Portal:
        """From the dashboard to the first page after 'Who is the disagreement about?' (a new draft each time)."""
        self.follow("Raise an escalation", exact=True)
        self.expect_heading("Raise an escalation")
        self.press("Start now")  # a start button: a link with role="button"
        self.expect_heading("Who the disagreement is about")
        self.choose("Who is the disagreement about?", subject)
        self.continue_()
        self.expect_heading(self.QUESTIONS[self.questions(subject)[0]][0])
        return self

    def continue_(self) -> Portal:
        return self.press("Continue")

    def fill_child(self, a: Answers) -> None:
        self.page.get_by_label("Child's full name").fill(a.child_name)
        dob = self.group("Child's date of birth")
        for part, value in zip(("Day", "Month", "Year"), a.dob, strict=True):
            dob.get_by_label(part, exact=True).fill(value)
        self.page.get_by_label("Local identifier (optional)").fill(a.identifier)
        self.choose("Is the child subject to a child protection plan?", a.on_plan)
        self.choose("Is the child looked after?", a.looked_after)
        if "Yes" in (a.on_plan, a.looked_after):
            self.page.get_by_label("Name of the child's child protection chair or IRO").fill(a.chair_name)
            self.page.get_by_label("Email address of the chair or IRO").fill(a.chair_email)

    def fill_unborn(self, a: Answers) -> None:
        self.page.get_by_label("Name to record the baby by").fill(a.child_name)
        due = self.group("Expected date of delivery")
        for part, value in zip(("Day", "Month", "Year"), a.due, strict=True):
            due.get_by_label(part, exact=True).fill(value)
        self.choose("Is the unborn baby subject to a child protection plan?", a.on_plan)
        if a.on_plan == "Yes":
            self.page.get_by_label("Name of the child's child protection chair or IRO").fill(a.chair_name)
            self.page.get_by_label("Email address of the chair or IRO").fill(a.chair_email)

    def fill_joint(self, a: Answers) -> None:
        legend = "Is a practitioner from another agency raising this with you?"
        self.choose(legend, "Yes" if a.joint_email else "No")
        if a.joint_email:
            self.page.get_by_label("Their name").fill(a.joint_name)
            self.page.get_by_label("Their email address (jointly raising)").fill(a.joint_email)
            self.page.get_by_label("Their agency (jointly raising)").select_option(label=a.joint_agency)

    def fill_you(self, a: Answers) -> None:
        self.page.get_by_label("Your role").fill(a.role)
        expect(self.page.get_by_label("Your agency or team")).to_have_value(re.compile(r"\d+"))  # their own agency
        self.page.get_by_label("Your contact details").fill(a.contact_details)

    def fill_counterpart(self, a: Answers) -> None:
        self.page.get_by_label("Name of the practitioner").fill(a.counterpart_name)
        self.page.get_by_label("Their email address").fill(a.counterpart_email)
        self.page.get_by_label("Their agency", exact=True).select_option(label=a.counterpart_agency)

    def fill_categories(self, a: Answers) -> None:
        group = self.group("What is the disagreement about?")
        for category in a.categories:
            group.get_by_label(category, exact=True).check()
        self.page.get_by_label("If something else, what?").fill(a.category_other)

    def fill_concern(self, a: Answers) -> None:
        self.page.get_by_label("Brief description of the concern").fill(a.summary)
        self.page.get_by_label("Action already taken to resolve it").fill(a.action_taken)

    def fill_outcome(self, a: Answers) -> None:
        self.page.get_by_label("What outcome are you seeking for the child?").fill(a.outcome)

    def fill_lead(self, a: Answers) -> None:
        self.choose("Is your designated safeguarding lead aware of this escalation?", a.lead_aware)
        self.page.get_by_label("Name of your safeguarding lead").fill(a.lead_name)

    def fill_risk(self, a: Answers) -> None:
        self.choose("Is the child at imminent risk of significant harm?", a.imminent_risk)
        self.choose("Do any of these specific circumstances apply?", a.circumstance)

    def fill_deadline(self, a: Answers) -> None:
        """Left blank: the procedure's own deadline."""

    QUESTIONS = {
        "child": ("About the child", "fill_child"),
        "unborn": ("About the unborn baby", "fill_unborn"),
        "you": ("About you", "fill_you"),
        "joint": ("Raising it jointly", "fill_joint"),
        "counterpart": ("Who you disagree with", "fill_counterpart"),
        "categories": ("What the disagreement is about", "fill_categories"),
        "concern": ("The concern", "fill_concern"),
        "outcome": ("Outcome sought", "fill_outcome"),
        "safeguarding-lead": ("Your safeguarding lead", "fill_lead"),
        "risk": ("Risk to the child", "fill_risk"),
        "deadline": ("Deadline", "fill_deadline"),
    }

    @staticmethod
    def questions(subject: str) -> list[str]:
        """The pages after 'Who is the disagreement about?' for this answer to it."""
        about = {"A child": ["child"], "An unborn baby": ["unborn"]}.get(subject, [])
        return about + [page for page in Portal.QUESTIONS if page not in ("child", "unborn")]

    def answer_all(self, a: Answers) -> Portal:
        """Every question page in order, from the one after 'Who is the disagreement about?' to check your answers."""
        pages = self.questions(a.subject)
        for step, page in enumerate(pages, start=2):
            title, fill = self.QUESTIONS[page]
            self.expect_heading(title)
            expect(self.page.get_by_text(f"Raise an escalation: step {step} of {len(pages) + 1}")).to_be_visible()
            getattr(self, fill)(a)
            self.continue_()
        self.expect_heading("Check your answers before raising the escalation")
        return self

    def raise_escalation(self, double_click: bool = False) -> str:
        """Press 'Raise escalation' (twice, quickly, if asked); returns the reference on the confirmation panel."""
        button = self.page.get_by_role("button", name="Raise escalation", exact=True)
        if double_click:
            button.dblclick()
        else:
            button.click()
        reference = self.confirmation_reference()
        self.checks()
        return reference

    def confirmation_reference(self) -> str:
        # Raising renders the Escalation Notice in the request here (tasks run in-process in tests): a loaded
        # machine takes longer than the default wait.
        self.expect_heading("Escalation raised", timeout=30_000)
        panel = self.page.locator(".govuk-panel")
        expect(panel).to_contain_text("Your reference is")
        return panel.locator("strong").inner_text().strip()

    # --- A case ----------------------------------------------------------------------------------

    def timeline(self) -> Locator:
        return self.page.get_by_role("heading", name="Timeline", exact=True).locator("xpath=following-sibling::ol[1]")


# Where focus is, and whether a sighted keyboard user can see it: an outline, a box shadow (GOV.UK's yellow
# and black) or, for the visually hidden radio and checkbox inputs, the ring drawn on their label's ::before.
_FOCUS = """target => {
    const el = document.activeElement;
    const shows = s => (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0
                        && !/rgba\\(0, 0, 0, 0\\)|transparent/.test(s.outlineColor))
                       || (s.boxShadow && s.boxShadow !== 'none');
    let visible = false;
    if (el && el !== document.body && el.matches(':focus-visible')) {
        visible = el.matches('.govuk-radios__input, .govuk-checkboxes__input')
            ? shows(getComputedStyle(document.querySelector(`label[for="${el.id}"]`), '::before'))
            : shows(getComputedStyle(el));
    }
    const name = !el || el === document.body ? '' : (el.labels && el.labels[0] ? el.labels[0].innerText
        : (el.getAttribute('aria-label') || el.innerText || '')).trim().replace(/\\s+/g, ' ').slice(0, 60);
    const description = !el || el === document.body ? 'body' : `${el.tagName.toLowerCase()}#${el.id} "${name}"`;
    return {visible, description, onTarget: target ? el === target : false};
}"""


class Keyboard:
    """Only the keyboard: Tab, Shift+Tab, Space, Enter, arrows and typing. No mouse, no locator actions."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.page = portal.page
        self.keys = portal.page.keyboard

    def assert_focus_visible(self) -> None:
        focus = self.page.evaluate(f"({_FOCUS})(null)")
        assert focus["visible"], f"{self.page.url}: no visible focus indicator on {focus['description']}"

    def tab_to(self, target: Locator, backwards: bool = False, limit: int = 40) -> list[str]:
        """Press Tab (or Shift+Tab) until `target` has focus; returns what had focus on the way.

        Every stop must show where focus is.
        """
        passed = []
        for _ in range(limit):
            self.keys.press("Shift+Tab" if backwards else "Tab")
            focus = target.evaluate(_FOCUS)
            assert focus["visible"], f"{self.page.url}: no visible focus indicator on {focus['description']}"
            if focus["onTarget"]:
                return passed
            passed.append(focus["description"])
        raise AssertionError(f"{limit} presses of Tab did not reach {target}; focus went through {passed}")

    def type_into(self, target: Locator, text: str) -> None:
        self.tab_to(target)
        self.keys.press("Control+A")
        self.keys.type(text)

    def press_and_load(self, key: str = "Enter") -> None:
        """Press a key that loads a page (following a link, submitting a form); the new page is checked."""
        with self.page.expect_navigation():
            self.keys.press(key)
        self.portal.checks()

    def activate(self, target: Locator, key: str = "Enter") -> None:
        """Tab to a link or button and press Enter (or Space): the page it loads is checked."""
        self.tab_to(target)
        self.press_and_load(key)


def link_path(live_server, reference: str, email: str, action: str, stage_index: int = 0) -> str:
    """The path of the emailed link for this case, stage, recipient and action (its token is never stored)."""
    links.init_secret(live_server.app.config["SECRET_KEY"])  # the live server's secret, whatever ran before
    with database.connection_context():
        link = (
            ActionLink.select()
            .join(Escalation)
            .where(
                (Escalation.reference == reference)
                & (ActionLink.stage_index == stage_index)
                & (ActionLink.recipient_email == email)
                & (ActionLink.action == action)
            )
            .get()
        )
        return f"/a/{links.token_of(link)}"
