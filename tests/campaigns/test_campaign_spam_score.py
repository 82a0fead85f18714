"""A campaign as a reader receives it, footer and all, scored by SpamAssassin's local tests."""

from __future__ import annotations

from tests.campaigns.helpers import add_reader, create, deliver, send
from tests.spam import needs_spamassassin, spam_verdict

ISSUE = """\
# The Morning Briefing

Good morning. The city council met late into the evening and approved next year's budget,
including the repairs to the river bridge that readers wrote to us about in the spring.

## What else happened

- The library extends its opening hours on weekdays from Monday.
- Tram line 4 runs every eight minutes again after the works on the main square.
- Our reporter spent a week with the night shift at the central hospital:
  [read the story](https://newsroom.example/stories/night-shift).

> "We had not expected so many letters," the council's chair told us.

Thank you for reading. Tell us what you think by replying to this message.
"""


@needs_spamassassin
def test_a_campaign_as_a_reader_receives_it_scores_under_2(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("reader@example.com")
    send(app, create(app, subject="The Morning Briefing: 30 November", body=ISSUE))
    deliver(app)

    (envelope,) = sink.envelopes
    verdict = spam_verdict(envelope.original_content)

    assert verdict.score < 2.0, verdict.report
