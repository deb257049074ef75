"""Signal receivers: the gate's deny decisions become notifications without the gate
knowing about notifications."""

from __future__ import annotations

from django.db.models.signals import post_save


def on_gate_decision(sender, instance, created, **kwargs):
    from gate.choices import Decision

    if not created or instance.decision != Decision.DENY:
        return
    from notifications.choices import Event
    from notifications.services import notify

    service = instance.service
    reasons = instance.reasons or []
    lines = "\n".join(f"- {r.get('message') or r.get('code')}" for r in reasons[:20])
    notify(
        event=Event.GATE_DENIED,
        service=service,
        # One notice per commit and environment: CI retries do not flood anyone.
        key=f"gate_denied:{service.pk}:{instance.environment}:{instance.commit_sha}",
        url=service.get_absolute_url() + "#gate-decisions",
        subject=f"{service.name} ({instance.environment}): the gate denied commit "
        f"{instance.commit_sha[:12]}",
        body=f"The deployment gate denied {service.name} to {instance.environment} at commit "
        f"{instance.commit_sha} (caller {instance.caller_label}).\nReasons:\n{lines}",
        data={
            "decision": {
                "id": str(instance.decision_id),
                "environment": instance.environment,
                "commit_sha": instance.commit_sha,
                "reasons": [r.get("code") for r in reasons],
            }
        },
    )


def connect() -> None:
    try:
        from gate.models import GateDecision
    except ImportError:  # the gate app is not installed
        return
    post_save.connect(on_gate_decision, sender=GateDecision, dispatch_uid="notify_gate_denied")
