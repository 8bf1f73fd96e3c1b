"""The demo compounds further along the renovation cycle than the survey.

Two compounds show what follows the needs survey with their pages filled in:
花园小区 is in the works (plan published and noticed, owners' consent given,
works under way with one item late) and 幸福里小区 is being evaluated (every
item done, the satisfaction survey answered by most households). Each went
through the cycle as a facilitator would: the services that the pages call
moved it on, on the days its history says.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from consult.models import Account, Compound, Phase, Survey, SurveyStatus, WorkStatus
from consult.services.consent_ballots import demo_consent
from consult.services.phases import move_to, set_dates
from consult.services.plan_notice import demo_plan
from consult.services.publications import publish as publish_results
from consult.services.satisfaction import demo_satisfaction
from consult.services.surveys import LOCAL_TZ
from consult.services.works import add_note, demo_works, works_items

#: Days before today on which each phase started, for the two compounds (None: not reached).
HISTORY: dict[str, dict[Phase, int]] = {
    "huayuan": {
        Phase.NEEDS: 150,
        Phase.PLAN: 118,
        Phase.NOTICE: 100,
        Phase.CONSENT: 92,
        Phase.WORKS: 60,
    },
    "xingfuli": {
        Phase.NEEDS: 300,
        Phase.PLAN: 268,
        Phase.NOTICE: 250,
        Phase.CONSENT: 242,
        Phase.WORKS: 210,
        Phase.EVALUATION: 14,
    },
}
RESULTS_CONTACT = "对结果有意见或建议，请在公示期内到社区居委会反映，或拨打 0536-8123456。"


def advance(
    session: Session,
    compound: Compound,
    survey: Survey,
    facilitator: Account,
    today: date,
) -> None:
    """Take a demo compound with answered needs through the cycle as its history says; flush."""
    history = HISTORY[compound.code]

    def day(phase: Phase) -> date:
        return today - timedelta(days=history[phase])

    survey.status = SurveyStatus.CLOSED
    survey.opens_on, survey.closes_on = day(Phase.NEEDS), day(Phase.PLAN) - timedelta(days=1)
    session.add(survey)
    results = publish_results(
        session,
        compound,
        survey,
        facilitator,
        contact=RESULTS_CONTACT,
        comments_until=day(Phase.PLAN) + timedelta(days=7),
        today=day(Phase.PLAN),
    )
    move_to(session, compound, Phase.PLAN, day(Phase.PLAN))
    plan = demo_plan(session, compound, facilitator, today=day(Phase.NOTICE))
    # Published on those days, not on the day the demo was made.
    assert results is not None
    results.published_at = _morning(day(Phase.PLAN))
    plan.published_at = plan.drafted_at = _morning(day(Phase.NOTICE))
    session.add_all([results, plan])
    move_to(session, compound, Phase.CONSENT, day(Phase.CONSENT))
    demo_consent(session, compound, facilitator, day(Phase.CONSENT), now=today)
    move_to(session, compound, Phase.WORKS, day(Phase.WORKS))
    if Phase.EVALUATION in history:
        demo_works(session, compound, facilitator, day(Phase.EVALUATION) - timedelta(days=5))
        _finish(session, facilitator, compound, day(Phase.EVALUATION) - timedelta(days=2))
        move_to(session, compound, Phase.EVALUATION, day(Phase.EVALUATION))
        demo_satisfaction(session, compound, day(Phase.EVALUATION))
    else:
        demo_works(session, compound, facilitator, today)
    # The phases' dates as they happened, and those still ahead.
    dates: dict[Phase, tuple[date | None, date | None]] = {}
    phases = list(history)
    for index, phase in enumerate(phases):
        ends = day(phases[index + 1]) - timedelta(days=1) if index + 1 < len(phases) else None
        dates[phase] = (day(phase), ends)
    last = phases[-1]
    if last == Phase.WORKS:
        dates[Phase.WORKS] = (day(Phase.WORKS), today + timedelta(days=60))
        dates[Phase.EVALUATION] = (today + timedelta(days=75), today + timedelta(days=105))
    else:
        dates[Phase.EVALUATION] = (day(Phase.EVALUATION), today + timedelta(days=21))
        dates[Phase.MAINTAINED] = (today + timedelta(days=22), None)
    set_dates(session, compound, dates)


def _morning(day: date) -> datetime:
    """Ten in the morning, local time, of the day (as stored: UTC)."""
    return datetime.combine(day, time(10), tzinfo=LOCAL_TZ).astimezone(UTC)


def _finish(session: Session, account: Account, compound: Compound, on: date) -> None:
    """Record every unfinished item of the compound's works as done on the day (late ones too)."""
    for item in works_items(session, compound):
        if item.status in (WorkStatus.DONE, WorkStatus.DROPPED):
            continue
        if item.starts_on is None or item.starts_on > on:
            item.starts_on = on - timedelta(days=30)
        if item.ends_on is None or item.ends_on > on:
            item.ends_on = on
        session.add(item)
        session.flush()
        add_note(
            session,
            item,
            account,
            noted_on=on,
            status=WorkStatus.DONE,
            percent=100,
            text="已完工，经居民代表和监理验收合格。",
            today=on,
        )
