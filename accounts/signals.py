"""Sign-ins, sign-outs and failed sign-ins are audit events."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.choices import ActorType, Outcome
from audit.context import Actor
from audit.services import audit_record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    audit_record(actor=Actor.from_request(request, user=user), action="auth.login", obj=user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        actor = Actor.from_request(request, user=user) if request else Actor.for_user(user)
        audit_record(actor=actor, action="auth.logout", obj=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    base = Actor.from_request(request) if request is not None else Actor.system()
    actor = Actor(
        type=ActorType.ANONYMOUS,
        label=username or "anonymous",
        request_id=base.request_id,
        source_ip=base.source_ip,
        user_agent=base.user_agent,
    )
    audit_record(
        actor=actor,
        action="auth.login",
        outcome=Outcome.FAILURE,
        message="Wrong username or password.",
    )
