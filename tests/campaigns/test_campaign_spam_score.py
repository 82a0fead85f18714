"""A campaign as a reader receives it, footer and all, scored by SpamAssassin's local tests."""

from __future__ import annotations

from tests.campaigns.helpers import add_reader, create, deliver, send
from tests.mailer.test_spam_score import ISSUE  # the same issue the mailer's own test scores
from tests.spam import needs_spamassassin, spam_verdict


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
