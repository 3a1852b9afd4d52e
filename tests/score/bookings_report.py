"""Count and print the results of replayed booking conversations."""
from dataclasses import dataclass, field

from bookings_data import DETAILS

PROBLEM_WIDTH = 240   # characters of a problem shown in a failure line


@dataclass
class Tally:
    """Counts over the outcomes of one agent's run."""
    conversations: int = 0
    said: dict = field(default_factory=lambda: dict.fromkeys(DETAILS, 0))
    right: dict = field(default_factory=lambda: dict.fromkeys(DETAILS, 0))
    all_said_right: int = 0
    booked: int = 0
    booked_as_expected: int = 0
    asked_again: int = 0
    not_bookable: int = 0
    cancel_errors: int = 0

    def percent(self, part, whole):
        return 100.0 * part / whole if whole else 0.0

    def bookable_percent(self):
        """Return the all-said accuracy over the conversations whose expected
        slot was free, which the restaurant could book at all."""
        return self.percent(self.all_said_right, self.conversations - self.not_bookable)

    def to_json(self):
        return {
            "conversations": self.conversations,
            "details": {d: {"said": self.said[d], "right": self.right[d],
                            "percent": round(self.percent(self.right[d], self.said[d]), 2)}
                        for d in DETAILS},
            "all_said_right": self.all_said_right,
            "all_said_right_percent": round(self.percent(self.all_said_right,
                                                         self.conversations), 2),
            "booked": self.booked, "booked_as_expected": self.booked_as_expected,
            "asked_again": self.asked_again, "not_bookable": self.not_bookable,
            "all_said_right_bookable_percent": round(self.bookable_percent(), 2),
            "cancel_errors": self.cancel_errors,
        }


def tally(outcomes):
    """Return the Tally of a list of Outcome."""
    t = Tally()
    for o in outcomes:
        t.conversations += 1
        for d in o.said:
            t.said[d] += 1
            t.right[d] += o.detail_right(d)
        t.all_said_right += o.all_said_right()
        t.booked += o.booked is not None
        t.booked_as_expected += o.booked_as_expected()
        t.asked_again += bool(o.asked_again)
        t.not_bookable += o.not_bookable()
        t.cancel_errors += o.cancel_error is not None
    return t


def describe_expected(o):
    dates = " or ".join([o.expect["date"], *o.expect_date_also])
    return f"{o.expect['party_size']} on {dates} at {o.expect['time']}"


def describe_booked(o):
    if not o.booked:
        return "nothing"
    b = o.booked
    return f"{b['party_size']} on {b['date']} at {b['time']}"


def failure_line(o):
    said = ", ".join(f"{d}={o.said[d]!r}" for d in o.said)
    line = (f"  {o.dialogue_id:<10} said {said}; expected {describe_expected(o)}; "
            f"booked {describe_booked(o)}")
    if o.asked_again:
        line += f"; asked again for {', '.join(o.asked_again)}"
    if o.not_bookable():
        line += "; the expected slot was not free"
    if o.problem:
        problem = o.problem if len(o.problem) <= PROBLEM_WIDTH else \
            o.problem[:PROBLEM_WIDTH] + "..."
        line += f"; {problem}"
    return line


def failed(o, agent):
    if agent == "model":
        return not o.booked_as_expected()
    return not o.all_said_right()


def format_report(agent, outcomes, transcripts=False):
    """Return the text report of one agent's run: the figures, then one line
    per failed conversation (and its turns when transcripts is true)."""
    t = tally(outcomes)
    lines = []
    if agent == "model":
        lines.append("Model path against the test upstream: a plumbing check, not an "
                     "accuracy figure")
        lines.append(f"  booked as expected  {t.booked_as_expected:5d} / {t.conversations:5d}"
                     f"  {t.percent(t.booked_as_expected, t.conversations):6.2f} %")
    else:
        lines.append("Offline agent: accuracy over the details each guest said")
        lines.append(f"  {'detail':<18} {'right':>5} / {'said':>5}")
        for d in DETAILS:
            lines.append(f"  {d:<18} {t.right[d]:5d} / {t.said[d]:5d}  "
                         f"{t.percent(t.right[d], t.said[d]):6.2f} %")
        lines.append(f"  {'all said details':<18} {t.all_said_right:5d} / {t.conversations:5d}"
                     f"  {t.percent(t.all_said_right, t.conversations):6.2f} %  (conversations)")
        lines.append(f"  booked as expected (all three, said or supplied): "
                     f"{t.booked_as_expected} / {t.conversations}")
        lines.append(f"  asked again for a detail the guest said: {t.asked_again}")
        lines.append(f"  turned down while the expected slot was not free (booking rules or "
                     f"full tables): {t.not_bookable}")
        lines.append(f"  all said details, bookable conversations only: {t.all_said_right} / "
                     f"{t.conversations - t.not_bookable}  {t.bookable_percent():6.2f} %")
    lines.append(f"  nothing booked: {t.conversations - t.booked}; "
                 f"cancellations that failed: {t.cancel_errors}")

    failures = [o for o in outcomes if failed(o, agent)]
    if failures:
        lines.append(f"Failures ({len(failures)}):")
    for o in failures:
        lines.append(failure_line(o))
        if transcripts:
            for guest, reply in o.transcript:
                lines.append(f"      guest> {guest}")
                lines.append(f"      agent> {reply}")
    for o in outcomes:
        if o.cancel_error:
            lines.append(f"  {o.dialogue_id:<10} {o.cancel_error}")
    return "\n".join(lines)
