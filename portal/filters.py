"""Filter pieces shared by the API's filtersets."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django_filters import IsoDateTimeFilter as _IsoDateTimeFilter
from django_filters.fields import IsoDateTimeField as _IsoDateTimeField


class UtcIsoDateTimeField(_IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC.

    Python accepts UTC offsets up to ±23:59, PostgreSQL only up to ±15:59: an offset passed
    through as sent (``...+16:00``) made the query fail with DataError, a 500. The same instant
    in UTC compares the same and is always storable; one that leaves the calendar in UTC
    (year 1 or 9999 at the edge) is an invalid date-time.
    """

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and timezone.is_aware(value):
            try:
                value = value.astimezone(datetime.UTC)
            except OverflowError:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return value


class IsoDateTimeFilter(_IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
