"""kill -9 of an RQ worker in the middle of an e-mail batch to a real SMTP server; the outbox
reconciler, run by the second worker that was running alongside, finishes the batch.

The guarantee measured here: every message ends ``sent``, and every address receives its
message, at least once. A message the SMTP server accepted whose result the dead worker had not
yet committed is sent again (SMTP cannot be made atomic with our database); the test proves the
bound on those copies (only messages still ``sending`` in the database at the kill, never more
than one results group of ``outbox.Results``) and that no message arrives a third time.
"""

from __future__ import annotations

from collections import Counter

import pytest
from rq import Worker as RqWorker
from rq.suspension import resume, suspend

from survey_app.core import periodic
from survey_app.core.db import db
from survey_app.core.queue import get_queue, redis_connection
from survey_app.followup.messaging import outbox
from survey_app.followup.messaging.invitations import create_invitations
from survey_app.followup.messaging.models import Message, MessageEvent

from ..app.messaging_fakes import SmtpServer, smtp_config
from ..app.messaging_fixtures import make_round
from .fault_helpers import HoldingSink, Worker, wait_for

pytestmark = pytest.mark.postgres_only

MESSAGES = 30
HOLD_AT = 25  # the 25th message is on the wire when the worker dies


def states() -> dict[int, str]:
    db.session.expire_all()
    return dict(db.session.execute(db.select(Message.id, Message.state)).all())


@pytest.fixture
def smtp(app):
    server = SmtpServer()
    with server:
        old = {k: app.config.get(k) for k in smtp_config(server)}
        app.config.update(smtp_config(server))
        yield server
        if isinstance(server.sink, HoldingSink):
            server.sink.release.set()
        app.config.update(old)


def test_kill_9_during_an_email_batch_loses_nothing_and_bounds_the_copies(
    ctx, smtp, database_url, redis_url, tmp_path
):
    rnd = make_round(n=MESSAGES, partner=False)
    run = create_invitations(rnd, "email")
    db.session.commit()
    ids = sorted(mid for mid, _ch, _r in run.created)
    assert len(ids) == MESSAGES
    addresses = dict(db.session.execute(db.select(Message.id, Message.to_address)).all())
    smtp.sink = HoldingSink(addresses[ids[HOLD_AT - 1]])
    smtp.controller.handler = smtp.sink
    conn = redis_connection()
    # The periods of the periodic jobs have not come yet (so no reconciler runs while the batch
    # is legitimately in flight), and the workers wait until both are up.
    for job in periodic.registered():
        conn.set(job.lock_key, "1", ex=600)
    suspend(conn)
    workers = [
        Worker(
            ctx,
            database_url,
            redis_url,
            tmp_path / f"worker-{n}.log",
            MESSAGING_SENDING_TIMEOUT_SECONDS=1,  # shortened for the test (900 s by default)
        )
        for n in (1, 2)
    ]
    try:
        wait_for(lambda: len(RqWorker.all(connection=conn)) == 2, 60, "both workers to start")
        assert outbox.dispatch(run.created) == 1  # one job for the whole batch
        resume(conn)
        try:
            wait_for(smtp.sink.held.is_set, 40, "a worker to reach the held message")
        except AssertionError:
            failed = get_queue("email").failed_job_registry.get_job_ids()
            logs = "\n".join(w.output(2000) for w in workers)
            raise AssertionError(f"failed jobs {failed}\n{logs}") from None
        at_kill = states()
        (busy,) = [w.pid for w in RqWorker.all(connection=conn) if w.get_current_job_id()]
        (victim,) = [w for w in workers if w.pid == busy]
        (survivor,) = [w for w in workers if w is not victim]
        killed = victim.kill9()
        assert len(killed) >= 2, f"the worker and its work horse, got {killed}"
        received_before = Counter(m["To"] for m in smtp.sink.messages)
        smtp.sink.release.set()  # the server drops the held transaction: that copy never arrived

        sending = {i for i, s in at_kill.items() if s == "sending"}
        assert sending, "the kill did not land in the middle of the batch"
        assert Counter(at_kill.values()) == {
            "sent": MESSAGES - len(sending),
            "sending": len(sending),
        }
        # accepted by the server, result not yet committed: these are the copies to come
        unrecorded = {i for i in sending if received_before[addresses[i]]}
        assert len(received_before) == HOLD_AT - 1 and len(unrecorded) < outbox.Results().every

        # The minute passes: the other worker's scheduler runs the reconciler, which takes the
        # stranded rows back (claimed more than the sending timeout ago) and sends them.
        conn.delete("periodic:lock:outbox-reconcile")
        try:
            wait_for(
                lambda: set(states().values()) == {"sent"},
                45,
                "every message to be sent",
                interval=0.2,
            )
        except AssertionError:
            raise AssertionError(survivor.output()) from None
    finally:
        for w in workers:
            w.stop()

    received = Counter(m["To"] for m in smtp.sink.messages)
    assert set(received) == {addresses[i] for i in ids}, "an address got nothing"
    copies = {address for address, n in received.items() if n > 1}
    assert copies == {addresses[i] for i in unrecorded}
    assert max(received.values()) <= 2
    # each row records the Message-ID of the copy it knows about
    by_to: dict[str, list[str]] = {}
    for mail in smtp.sink.messages:
        by_to.setdefault(mail["To"], []).append(mail["Message-ID"])
    rows = {m.id: m for m in db.session.scalars(db.select(Message))}
    for i in ids:
        assert rows[i].provider_id == by_to[addresses[i]][-1]
        assert rows[i].attempts == (2 if i in sending else 1)
    # the history has one "sent" per message, and the reclaims of the stranded rows
    sent_events = Counter(
        db.session.scalars(db.select(MessageEvent.message_id).filter_by(state="sent"))
    )
    assert sent_events == Counter(ids)
    reclaimed = [
        e.message_id
        for e in db.session.scalars(db.select(MessageEvent).filter_by(state="queued"))
        if e.detail.get("reclaimed")
    ]
    assert sorted(reclaimed) == sorted(sending)
