"""The audit log for auditors and platform admins: a filtered, keyset-paginated list of events,
an event's detail with its place in the chain, and the chain's verification status."""

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from audit import selectors
from audit.context import Actor
from audit.forms import AuditFilterForm
from audit.services import audit_chain_status, audit_denied

PAGE_SIZE = 50


def _require_reader(request, action: str) -> None:
    """Others get a 404 (the log's existence is no secret, its content is) and an event."""
    if not selectors.can_read_audit_log(request.user):
        audit_denied(
            actor=Actor.from_request(request),
            action=action,
            message="Only auditors and platform admins may read the audit log.",
        )
        raise Http404("No such page.")


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _page(qs, request):
    """Keyset pagination on seq (newest first): ``?before=N`` older, ``?after=N`` newer."""
    before, after = _int_param(request, "before"), _int_param(request, "after")
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: PAGE_SIZE + 1])
        has_newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        has_older = bool(rows) and qs.filter(seq__lt=rows[-1].seq).exists()
    else:
        if before is not None:
            qs = qs.filter(seq__lt=before)
        rows = list(qs[: PAGE_SIZE + 1])
        has_older = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        has_newer = before is not None and bool(rows)
    return {
        "events": rows,
        "older": rows[-1].seq if has_older else None,
        "newer": rows[0].seq if has_newer else None,
    }


@login_required
def event_list(request):
    _require_reader(request, "audit.view")
    form = AuditFilterForm(request.GET or None)
    qs = selectors.event_list_for(request.user)
    if form.is_valid():
        qs = selectors.filter_events(qs, **form.cleaned_data)
    elif form.is_bound:
        qs = qs.none()
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    context = {
        "form": form,
        "query": query.urlencode(),
        "status": audit_chain_status(),
        **_page(qs, request),
    }
    return render(request, "audit/event_list.html", context)


def _pretty(value) -> str:
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@login_required
def event_detail(request, seq: int):
    _require_reader(request, "audit.view")
    event = get_object_or_404(selectors.event_list_for(request.user), seq=seq)
    context = {
        "event": event,
        "hash_ok": event.compute_hash() == event.hash,
        "before": _pretty(event.before),
        "after": _pretty(event.after),
        "details": _pretty(event.details) if event.details else "",
        "has_previous": seq > 1,
    }
    return render(request, "audit/event_detail.html", context)
