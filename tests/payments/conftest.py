from tests.payments.stripe_testing import (  # noqa: F401  (fixtures)
    member_count,
    stripe_api,
    stripe_app,
    tiers,
)
