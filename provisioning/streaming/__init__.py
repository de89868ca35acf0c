"""Log streaming: every provisioning log row and audit event, sent as it is written to the
destinations an administrator configured (syslog, Splunk HEC, an HTTPS webhook, a JSON-lines file).

How the guarantees hold
=======================

*Durable outbox, one entry per batch.* The engine writes log rows in batches of a few hundred with
PostgreSQL ``COPY`` (see :mod:`provisioning.bulk`). In the same transaction, :func:`outbox.enqueue_logs`
adds one :class:`~.models.StreamEntry` per enabled destination naming the batch's rows by their
``change_id``: a row is never committed without its entries, and an entry never without its rows.
One entry per batch rather than per row is what keeps the cost negligible: a 100,000-row initial
cycle adds about 200 small inserts per destination (one list of ids each) to the ~200 ``COPY``
statements it makes anyway, where an entry per row would double the rows written. The rows are
named by ``change_id`` (already in hand, unique and indexed) rather than by primary key, which
``COPY`` does not return: no extra query. With no destination enabled, one indexed look at the
(tiny) destination table per batch is all it costs. Audit events, written one at a time by
:func:`provisioning.audit.record`, get one entry each in the same way.

*At least once, in order, by one worker at a time.* :func:`delivery.deliver` runs in a Celery task
(beat dispatches one per destination with entries due, every ``STREAM_DELIVER_SECONDS``). In one
transaction it locks the destination's row with ``SELECT … FOR UPDATE SKIP LOCKED`` (a second
worker skips the destination instead of delivering the same entries beside the first, so each
destination's entries go out one batch after the other, oldest first), claims the oldest entries
with ``FOR UPDATE SKIP LOCKED``, sends them, and deletes the entries the receiver confirmed in the
same transaction. A worker killed mid-delivery loses its connection, PostgreSQL rolls the
transaction back, and the next delivery sends the same entries again: a receiver may see a row
twice (deduplicate on ``type`` + ``id``), never zero times. What is confirmed: a 2xx answer
(webhook, HEC), a write made durable with ``fsync`` (file), and for syslog, whose TCP has no
acknowledgement, the receiver closing the connection after reading everything up to ours.

*Retries and dead letters.* A failed delivery leaves the oldest entry in place with its error and an
exponential backoff (``STREAM_RETRY_BASE_SECONDS`` doubled per attempt, at most
``STREAM_RETRY_MAX_SECONDS``); the destination's later entries wait behind it, keeping the order.
After the destination's ``max_attempts`` the entry becomes a dead letter: it is shown in the
portal, with its error, to be retried or discarded (both audited), and the entries behind it move
on. A retried dead letter is therefore delivered after entries written later than it.

*Secrets.* Tokens are encrypted like the portal's other secrets and never rendered; errors are
redacted before they are stored; log rows and audit events are redacted when written, and once more
as they are sent.

On SQLite (the embedded demo) ``FOR UPDATE`` does nothing: delivery is still at least once, but
order across several worker processes needs PostgreSQL, the production database.
"""
