"""Writing and verifying the audit trail.

``audit_record`` appends an event inside the caller's transaction: if the event cannot be
written, the business action rolls back with it. Appends are serialized by a row lock on the
single ``AuditChainHead`` row (held until the caller commits), so the chain never forks; call
``audit_record`` last in your transaction to keep that lock short and the lock order
consistent. ``audit_verify`` recomputes the chain; ``audit_checkpoint_write`` signs its head
and stores the checkpoint outside the database.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.utils import timezone

from audit import checkpoints
from audit.chain import (
    GENESIS_HASH,
    HASH_FIELDS,
    canonical_time_sql,
    clean_text,
    json_safe,
    row_hash,
)
from audit.checkpoints import Checkpoint
from audit.choices import Outcome
from audit.context import Actor
from audit.models import AuditChainHead, AuditEvent
from portal.errors import DomainError

logger = logging.getLogger(__name__)

__all__ = [
    "Checkpoint",
    "VerifyResult",
    "audit_checkpoint_latest",
    "audit_checkpoint_write",
    "audit_chain_status",
    "ChainStatus",
    "audit_denied",
    "audit_record",
    "audit_verify",
    "redact",
]

REDACTED = "[redacted]"
_SECRET_KEY_PATTERN = re.compile(
    r"(secret|passw|token|credential|private|api_?key|access_?key|authorization|cookie"
    r"|session_?(id|key)|signature|otp|pin_?code)",
    re.I,
)
# ...except keys that name or describe a secret without holding it: token_id, token_prefix.
_NOT_SECRET_KEY_PATTERN = re.compile(r"_(id|ids|name|prefix|label|type|scopes?|expires_at)$", re.I)
# Values that are secrets whatever key they sit under: PEM private keys, JWTs, bearer tokens.
_SECRET_VALUE_PATTERN = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*|\bBearer\s+\S{8,}",
    re.I,
)


def redact(value):
    """Replace values under secret-looking keys, and secret-looking strings, by
    ``[redacted]``; keep the structure so before/after diffs stay readable."""
    if isinstance(value, dict):
        return {k: (REDACTED if _secret_key(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str) and _SECRET_VALUE_PATTERN.search(value):
        return REDACTED
    return value


def _secret_key(key: str) -> bool:
    if not _SECRET_KEY_PATTERN.search(key):
        return False
    return key.lower() == "session_id" or not _NOT_SECRET_KEY_PATTERN.search(key)


def _stored_json(value):
    return None if value is None else json_safe(redact(value))


def _normal_ip(value: str | None) -> str | None:
    """The address as PostgreSQL's inet type returns it, so the hash survives a round-trip."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return f"::ffff:{address.ipv4_mapped}"
    return address.compressed


def _request_id(value: str) -> str:
    return "" if value in ("", "-") else clean_text(value, 64)


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    outcome: str = Outcome.SUCCESS,
    message: str = "",
    before: dict | None = None,
    after: dict | None = None,
    details: dict | None = None,
    service_slug: str = "",
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    ``before``/``after``/``details`` are redacted (secret-looking keys and values) and
    normalised to JSON. Raises if the event cannot be written, which rolls back the caller's
    transaction: an action that cannot be audited does not happen.
    """
    extra = {**actor.details, **(details or {})}
    source_ip = _normal_ip(actor.source_ip)
    if actor.source_ip and source_ip is None:
        extra["unparsed_source_ip"] = actor.source_ip
    # Everything but the chain position is prepared before taking the head lock, which every
    # audited transaction in the portal waits for.
    event = AuditEvent(
        actor_type=actor.type,
        actor_label=clean_text(actor.label, 255),
        actor_user=actor.user if actor.user is not None and actor.user.pk else None,
        action=clean_text(action, 64),
        outcome=outcome,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=clean_text(str(obj.pk), 64) if obj is not None else "",
        object_repr=_object_repr(obj),
        service_slug=clean_text(service_slug, 63),
        message=clean_text(message),
        before=_stored_json(before),
        after=_stored_json(after),
        details=_stored_json(extra) or {},
        request_id=_request_id(actor.request_id),
        source_ip=source_ip,
        user_agent=clean_text(actor.user_agent, 512),
    )
    # No savepoint of its own (two statements saved on every audited action): a failure here
    # rolls back to the caller's nearest savepoint or the whole transaction, as promised.
    with transaction.atomic(savepoint=False):
        head = _lock_head()
        event.seq = head.seq + 1
        event.prev_hash = head.hash
        # Taken under the lock, so occurred_at never goes backwards along the chain.
        event.occurred_at = timezone.now()
        event.hash = event.compute_hash()
        event.save(force_insert=True)
        AuditChainHead.objects.filter(id=1).update(seq=event.seq, hash=event.hash)
    return event


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _object_repr(obj) -> str:
    return clean_text(_CONTROL_CHARS.sub(" ", str(obj)), 255) if obj is not None else ""


def _lock_head() -> AuditChainHead:
    """Lock the chain head row until the transaction ends (creating it if a test flushed it)."""
    head = AuditChainHead.objects.select_for_update().filter(id=1).first()
    if head is None:
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, hash_ = last if last else (0, GENESIS_HASH)
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"seq": seq, "hash": hash_}
        )
    return head


def audit_denied(
    *,
    actor: Actor,
    action: str,
    obj=None,
    message: str,
    service_slug: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Record a refused action. Call it outside the refused action's transaction (views and
    API handlers do, after the service raised), so the record survives that rollback."""
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action=action,
            obj=obj,
            outcome=Outcome.DENIED,
            message=message,
            service_slug=service_slug,
            details=details,
        )


# --- Verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    # The last event verified (0 and the genesis hash for an empty chain).
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    checkpoint: Checkpoint | None = None
    seconds: float = 0.0

    def __str__(self):
        if self.ok:
            anchor = f"; checkpoint #{self.checkpoint.seq} matches" if self.checkpoint else ""
            return f"OK: {self.checked} events verified, head #{self.last_seq}{anchor}"
        return f"FAILED at event #{self.first_bad_seq}: {self.reason}"


_BATCH = 20_000


def _select_sql() -> str:
    quote = connection.ops.quote_name
    columns = [quote(name) for name in (*HASH_FIELDS, "hash")]
    columns[1] = canonical_time_sql(columns[1], connection.vendor)
    table, seq = quote(AuditEvent._meta.db_table), quote("seq")
    # Only constant, quoted identifiers are interpolated; the value is a parameter.
    return (
        f"SELECT {', '.join(columns)} FROM {table} "  # noqa: S608
        f"WHERE {seq} >= %s ORDER BY {seq} LIMIT {_BATCH}"
    )


def _stored_hash(seq: int) -> str | None:
    return AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()


def _rows(start_seq: int):
    """Events from ``start_seq`` in order, fetched in keyset batches (any database, bounded
    memory, no server-side cursor)."""
    sql = _select_sql()
    next_seq = start_seq
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [next_seq])
            batch = cursor.fetchall()
            yield from batch
            if len(batch) < _BATCH:
                return
            next_seq = batch[-1][0] + 1


def audit_verify(*, start_seq: int = 1, checkpoint: Checkpoint | None = None) -> VerifyResult:
    """Recompute the chain from ``start_seq`` and name the first bad event.

    Finds edited events (content does not match its hash), deleted ones (a gap in the sequence
    or a broken link), reordered or inserted ones (prev_hash does not match the predecessor's
    hash), and, given a signed ``checkpoint``, a cut-off tail (the checkpointed event is missing
    or has another hash). The chain head row must agree with the table too.
    """
    started = time.perf_counter()
    head = AuditChainHead.objects.filter(id=1).values_list("seq", "hash").first()
    done = _Verifier(start_seq=max(start_seq, 1), head=head, checkpoint=checkpoint).run()
    return VerifyResult(**{**done.__dict__, "seconds": time.perf_counter() - started})


class _Verifier:
    def __init__(self, *, start_seq, head, checkpoint):
        self.start_seq = start_seq
        self.head = head
        self.checkpoint = checkpoint
        self.checked = 0
        self.last_seq = start_seq - 1
        self.last_hash = GENESIS_HASH

    def fail(self, seq: int, reason: str) -> VerifyResult:
        return VerifyResult(
            ok=False,
            checked=self.checked,
            first_bad_seq=seq,
            reason=reason,
            last_seq=self.last_seq,
            last_hash=self.last_hash,
            checkpoint=self.checkpoint,
        )

    def run(self) -> VerifyResult:
        cp = self.checkpoint
        if cp is not None and not cp.signature_valid:
            return self.fail(cp.seq, f"checkpoint {cp.name} has an invalid signature")
        if self.start_seq > 1:
            stored = _stored_hash(self.start_seq - 1)
            if stored is None:
                return self.fail(self.start_seq - 1, "event is missing (deleted)")
            self.last_hash = stored
        failure = self.walk()
        return failure or self.check_anchors()

    def walk(self) -> VerifyResult | None:
        cp_seq = self.checkpoint.seq if self.checkpoint else None
        head_seq = self.head[0] if self.head else None
        expected = self.start_seq
        prev = self.last_hash
        for row in _rows(self.start_seq):
            seq, stored_prev, stored_hash = row[0], row[-2], row[-1]
            if seq != expected:
                return self.fail(expected, f"event is missing (deleted): the next one is #{seq}")
            if stored_prev != prev:
                return self.fail(
                    seq,
                    f"prev_hash does not match the hash of event #{seq - 1} "
                    "(an event was deleted, inserted or reordered)",
                )
            if row_hash(row) != stored_hash:
                return self.fail(seq, "content does not match its hash (edited)")
            if seq == cp_seq and stored_hash != self.checkpoint.hash:
                return self.fail(seq, "hash differs from the signed checkpoint (rewritten)")
            if seq == head_seq and stored_hash != self.head[1]:
                return self.fail(seq, "hash differs from the chain head record")
            prev = stored_hash
            expected += 1
            self.checked += 1
            self.last_seq, self.last_hash = seq, stored_hash
        return None

    def check_anchors(self) -> VerifyResult:
        cp = self.checkpoint
        if cp is not None and cp.seq > self.last_seq:
            return self.fail(
                self.last_seq + 1,
                f"events #{self.last_seq + 1} to #{cp.seq} are missing: the checkpoint signed "
                f"at {cp.time:%Y-%m-%d %H:%M:%S} UTC covers #{cp.seq} (tail truncated)",
            )
        if cp is not None and 0 < cp.seq < self.start_seq and _stored_hash(cp.seq) != cp.hash:
            return self.fail(cp.seq, "event is missing or differs from the signed checkpoint")
        if self.head is not None and self.head[0] > self.last_seq:
            return self.fail(
                self.last_seq + 1,
                f"events #{self.last_seq + 1} to #{self.head[0]} are missing: the chain head "
                "record is ahead of the table (tail truncated)",
            )
        return VerifyResult(
            ok=True,
            checked=self.checked,
            last_seq=self.last_seq,
            last_hash=self.last_hash,
            checkpoint=cp,
        )


# --- Checkpoints --------------------------------------------------------------------------


class AuditChainBroken(DomainError):
    def __init__(self, result: VerifyResult):
        super().__init__(f"Audit chain verification failed: {result}", code="invalid_state")
        self.result = result


def audit_checkpoint_latest() -> Checkpoint | None:
    """The newest signed checkpoint in the "audit_checkpoints" storage (None if none yet)."""
    return checkpoints.latest()


def audit_checkpoint_write() -> Checkpoint:
    """Verify the chain since the previous checkpoint, then sign and store its head.

    Refuses (AuditChainBroken) to sign a chain that does not verify, so every checkpoint
    vouches for everything before it. Run every 15 minutes by Celery beat.
    """
    previous = checkpoints.latest()
    start = previous.seq if previous is not None and previous.seq > 0 else 1
    result = audit_verify(start_seq=start, checkpoint=previous)
    if not result.ok:
        logger.error("audit chain broken, checkpoint refused: %s", result)
        raise AuditChainBroken(result)
    return checkpoints.create(
        seq=result.last_seq,
        hash_=result.last_hash,
        previous=previous.name if previous is not None else None,
        now=timezone.now(),
    )


@dataclass(frozen=True)
class ChainStatus:
    """What the audit log page shows about the chain's integrity."""

    checkpoint: Checkpoint | None
    result: VerifyResult | None
    problem: str = ""


def audit_chain_status(*, full_verify_limit: int = 50_000) -> ChainStatus:
    """Verify what was appended since the latest checkpoint (cheap: checkpoints are written
    every 15 minutes). Without a checkpoint, verify the whole chain only if it is short."""
    try:
        checkpoint = checkpoints.latest()
    except (ValueError, OSError) as exc:
        return ChainStatus(None, None, f"The latest checkpoint cannot be read: {exc}")
    if checkpoint is None:
        head = AuditChainHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
        if head > full_verify_limit:
            return ChainStatus(None, None, "No signed checkpoint yet: run manage.py verify_audit.")
        return ChainStatus(None, audit_verify())
    return ChainStatus(
        checkpoint, audit_verify(start_seq=max(checkpoint.seq, 1), checkpoint=checkpoint)
    )
