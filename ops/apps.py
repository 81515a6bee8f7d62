from django.apps import AppConfig


class OpsConfig(AppConfig):
    """What running the site on the public internet needs and no domain app owns: the request
    guard, client addresses behind proxies, request ids and logs, health checks."""

    name = "ops"
    verbose_name = "Operations"
