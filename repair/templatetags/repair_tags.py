"""What the public record page needs to know about credit repair, without the disclosure app
reaching into repair's models."""

from django import template

from repair.models import Application

register = template.Library()


@register.simple_tag
def repair_under_way(record) -> bool:
    """Whether an application for ``record`` is open: the page then says so instead of
    offering a form the service would refuse."""
    if not record.repair_open:
        return False
    return Application.objects.open().filter(record=record).exists()
