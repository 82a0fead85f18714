"""Campaign-shaped mail, built by the mailer as it goes out, scored by SpamAssassin."""

from __future__ import annotations

from email.utils import make_msgid

from campaigns.content import render
from database import utcnow
from mailer.message import Mail, MailFrom, build_message
from tests.spam import needs_spamassassin, spam_verdict

SENDER = MailFrom("newsletters@newsroom.example", "The Newsroom")
UNSUBSCRIBE = "https://newsroom.example/unsubscribe/eyJzIjo0Mn0.Z1p2dw.c2lnbmF0dXJl"
PREFERENCES = "https://newsroom.example/preferences/eyJzIjo0Mn0.Z1p2dw.cHJlZnM"

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

UKRAINIAN_ISSUE = """\
# Ранковий брифінг

Доброго ранку. Міська рада засідала до пізнього вечора й ухвалила бюджет на наступний рік,
зокрема ремонт мосту через річку, про який нам писали читачі навесні.

## Що ще сталося

- Бібліотека з понеділка працює довше в будні.
- Трамвай №4 знову ходить кожні вісім хвилин.
- Наш репортер провів тиждень із нічною зміною в центральній лікарні:
  [читати](https://newsroom.example/stories/night-shift).

Дякуємо, що читаєте.
"""

SPAMMY = """\
# DEAR FRIEND!!! ACT NOW!!!

CONGRATULATIONS!!! You have been SELECTED to receive $1,000,000 USD in CASH!!! This is
100% GUARANTEED and 100% FREE, NO CREDIT CHECK, NO OBLIGATION, RISK FREE!!!

Buy VIAGRA and CIALIS at the LOWEST PRICE online, no prescription needed!!! Lose 30 pounds
in 30 days!!! Make money fast working from home, earn extra cash, double your income!!!

[CLICK HERE NOW](http://198.51.100.23/claim) to claim your prize. Limited time offer,
order today, while supplies last!!! Send your bank account details and password to claim.

[CLICK HERE](http://198.51.100.23/unsubscribe) to be removed from our mailing list.
"""


ENGLISH_FOOTER = (
    "You get this because you subscribed to The Morning Briefing at newsroom.example.",
    "Unsubscribe",
    "Change your preferences",
    "The Newsroom, 1 Example Street, Kyiv 01001, Ukraine",
)
UKRAINIAN_FOOTER = (
    "Ви отримуєте цей лист, бо підписалися на «Ранковий брифінг» на newsroom.example.",
    "Відписатися",
    "Змінити налаштування",
    "Редакція, вул. Прикладна, 1, Київ 01001, Україна",
)


def campaign_message(subject: str, markdown: str, footer=ENGLISH_FOOTER) -> bytes:
    """A campaign as the contract has it: both versions, List-* headers, the footer."""
    why, unsubscribe, preferences, postal_address = footer
    rendered = render(markdown)
    footer_text = (
        f"\n--\n{why}\n{unsubscribe}: {UNSUBSCRIBE}\n{preferences}: {PREFERENCES}\n"
        f"{postal_address}\n"
    )
    footer_html = (
        f'<hr><p>{why} <a href="{UNSUBSCRIBE}">{unsubscribe}</a> · '
        f'<a href="{PREFERENCES}">{preferences}</a></p><p>{postal_address}</p>'
    )
    html = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{subject}</title>'
        f"</head><body>{rendered.html}{footer_html}</body></html>"
    )
    mail = Mail(
        id=1,
        to_addr="reader@example.com",
        subject=subject,
        text_body=rendered.text + footer_text,
        html_body=html,
        message_id=make_msgid(domain="newsroom.example"),
        created_at=utcnow(),
        headers={
            "List-Id": "The Morning Briefing <morning.newsroom.example>",
            "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    return build_message(mail, SENDER, smtputf8=False).data


@needs_spamassassin
def test_a_campaign_built_by_the_mailer_scores_under_2():
    verdict = spam_verdict(campaign_message("The Morning Briefing: 30 November", ISSUE))

    assert verdict.score < 2.0, verdict.report


@needs_spamassassin
def test_a_ukrainian_campaign_scores_under_2():
    message = campaign_message("Ранковий брифінг: 30 листопада", UKRAINIAN_ISSUE, UKRAINIAN_FOOTER)

    verdict = spam_verdict(message)

    assert verdict.score < 2.0, verdict.report


@needs_spamassassin
def test_a_spammy_message_built_the_same_way_scores_over_2():
    verdict = spam_verdict(campaign_message("FREE CASH!!! ACT NOW - 100% GUARANTEED", SPAMMY))

    assert verdict.score > 2.0, verdict.report
