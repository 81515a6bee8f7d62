"""Agency endpoints: API key authentication, per-agency throttling, every call logged."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import authentication, exceptions, permissions, serializers
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from disclosure import agencies
from disclosure.models import Agency


class AgencyKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer cc_…`` (or ``X-Api-Key: cc_…``)."""

    keyword = "Bearer"

    def authenticate(self, request):
        raw = request.headers.get("X-Api-Key", "")
        header = request.headers.get("Authorization", "")
        if header.startswith(f"{self.keyword} "):
            raw = header[len(self.keyword) + 1 :].strip()
        if not raw:
            return None
        key = agencies.agency_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("This API key is not valid, or has been revoked."))
        return key.agency, key

    def authenticate_header(self, request):
        return self.keyword


class AgencyKeyScheme(OpenApiAuthenticationExtension):
    target_class = AgencyKeyAuthentication
    name = "agencyKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key issued to the agency by staff.",
        }


class IsAgency(permissions.BasePermission):
    message = _("This endpoint is for authorized credit service agencies: send your API key.")

    def has_permission(self, request, view):
        return isinstance(request.user, Agency)


class AgencyThrottle(SimpleRateThrottle):
    scope = "agency"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, Agency):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}

    def allow_request(self, request, view):
        if not settings.RATELIMIT_ENABLE:
            return True
        return super().allow_request(request, view)


class AgencyView(APIView):
    """Base of agency endpoints: key required, throttled per agency, each call logged."""

    authentication_classes = [AgencyKeyAuthentication]
    permission_classes = [IsAgency]
    throttle_classes = [AgencyThrottle]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        key = request.auth
        if key is not None:
            agencies.agency_call_log(
                key=key,
                method=request.method,
                endpoint=request.get_full_path()[:300],
                status=response.status_code,
            )
        return response


class Whoami(AgencyView):
    @extend_schema(
        summary="The agency the key belongs to",
        responses=inline_serializer(
            "Agency", {"code": serializers.CharField(), "name": serializers.CharField()}
        ),
    )
    def get(self, request):
        return Response({"code": request.user.code, "name": request.user.name})
