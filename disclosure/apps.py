from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisclosureConfig(AppConfig):
    name = "disclosure"
    verbose_name = _("Public credit disclosure")

    def ready(self):
        from . import pagecache

        pagecache.connect()
