"""The messaging stand-ins live in ``survey_app.testing`` so the benchmarks share them."""

from survey_app.testing.messaging_fakes import (  # noqa: F401
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    SmtpServer,
    SmtpSink,
    free_port,
    smtp_config,
    twilio_config,
)
