"""The app's view of what we sent and published, its devices, and verification."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

# Sliding windows (DRF's own) for the limits on codes and checks: a fixed window
# would let twice the rate through across its edge.
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from customers.api import MeSerializer, customer_of
from customers.selectors import customer_for_user
from notices import selectors, services
from notices.markdown import render_markdown
from notices.models import ContactVerification, Delivery, Device, Notice
from notices.references import MALFORMED, format_reference, normalise_reference
from portal.api import (
    SLUG_PATTERN,
    NewestFirstCursor,
    NoUnknownFields,
    StrictCharField,
    StrictChoiceField,
    StrictUUIDField,
    etag_response,
    query_choice,
    query_slug,
    refuse_body,
    require_recent_authentication,
)
from portal.api_docs import ERRORS, OPTIONAL_AUTH_ERRORS, PUBLIC_ERRORS, REAUTH_ERRORS
from portal.api_throttles import KeyedIdent, ScopedRateThrottle
from portal.health import health_checks
from portal.i18n import localized


def _invalid(exc: ValidationError) -> ApiValidationError:
    return ApiValidationError(
        {"detail": exc.messages[0]} if len(exc.messages) == 1 else exc.messages
    )


# --- contact details ----------------------------------------------------------------


class ContactStartSerializer(NoUnknownFields, serializers.Serializer):
    kind = StrictChoiceField(choices=ContactVerification.Kind.choices)
    value = StrictCharField(max_length=254, help_text="The new email address or phone number.")


class ContactPendingSerializer(serializers.Serializer):
    verification_id = serializers.UUIDField()
    kind = serializers.CharField()
    expires_at = serializers.DateTimeField()


class ContactConfirmSerializer(NoUnknownFields, serializers.Serializer):
    verification_id = StrictUUIDField()
    code = StrictCharField(max_length=12)


class ContactStartView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "contact"

    @extend_schema(
        operation_id="contact_change",
        request=ContactStartSerializer,
        responses={202: ContactPendingSerializer, **REAUTH_ERRORS},
        tags=["me"],
        description="Send a code to a new email or phone. It becomes yours when the code "
        "comes back through /api/v1/me/contact/confirm. Asks for a recent authentication "
        "(signed in or re-authenticated within the last 5 minutes): otherwise a 403 with the "
        "code `reauthentication_required`; re-authenticate through allauth's headless API "
        "(`POST /_allauth/app/v1/auth/reauthenticate` with the password, or "
        "`/_allauth/app/v1/auth/reauthenticate/code/request` then `…/code/confirm`) and send "
        "the request again.",
    )
    def post(self, request):
        customer = customer_of(request)
        # A stolen token must not move the login to its holder's inbox or phone.
        require_recent_authentication(request)
        serializer = ContactStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            verification = services.contact_change_start(
                customer=customer, **serializer.validated_data
            )
        except ValidationError as exc:
            raise _invalid(exc) from None
        return Response(
            {
                "verification_id": verification.public_id,
                "kind": verification.kind,
                "expires_at": verification.expires_at,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class ContactConfirmView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "contact"

    @extend_schema(
        operation_id="contact_confirm",
        request=ContactConfirmSerializer,
        responses={200: MeSerializer, **ERRORS},
        tags=["me"],
    )
    def post(self, request):
        customer = customer_of(request)
        serializer = ContactConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            customer = services.contact_change_confirm(
                customer=customer,
                verification_id=serializer.validated_data["verification_id"],
                code=serializer.validated_data["code"],
            )
        except ValidationError as exc:
            raise _invalid(exc) from None
        return Response(MeSerializer(customer).data)


# --- messages -------------------------------------------------------------------------


class MessageSerializer(serializers.ModelSerializer):
    reference = serializers.SerializerMethodField()
    incident = serializers.CharField(source="campaign.incident.slug")

    class Meta:
        model = Delivery
        fields = [
            "reference",
            "channel",
            "status",
            "subject",
            "body",
            "sent_at",
            "delivered_at",
            "incident",
        ]

    def get_reference(self, delivery: Delivery) -> str:
        return format_reference(delivery.reference or "")


class MessageListView(generics.ListAPIView):
    """Every alert we sent me, on any channel, with its reference; newest first."""

    serializer_class = MessageSerializer
    pagination_class = NewestFirstCursor

    @extend_schema(
        operation_id="messages",
        parameters=[
            OpenApiParameter("channel", str, enum=["sms", "email", "inapp", "push"]),
            OpenApiParameter(
                "incident", str, description="An incident's slug.", pattern=SLUG_PATTERN
            ),
        ],
        responses={200: MessageSerializer(many=True), **ERRORS},
        tags=["messages"],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        messages = selectors.messages_for_customer(customer_of(self.request)).order_by("-id")
        channel = query_choice(self.request, "channel", ["sms", "email", "inapp", "push"])
        if channel:
            messages = messages.filter(channel=channel)
        incident = query_slug(self.request, "incident")
        if incident:
            messages = messages.filter(campaign__incident__slug=incident)
        return messages


# --- notices ---------------------------------------------------------------------------


class NoticeSummarySerializer(serializers.Serializer):
    slug = serializers.CharField()
    incident = serializers.CharField()
    kind = serializers.CharField()
    audience = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    published_at = serializers.DateTimeField()
    url = serializers.CharField()


class NoticeUpdateSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    html = serializers.CharField()


class NoticeDetailSerializer(NoticeSummarySerializer):
    html = serializers.CharField(help_text="Sanitised HTML of the notice.")
    updates = NoticeUpdateSerializer(many=True)


def _notice_summary(notice: Notice) -> dict:
    return {
        "slug": notice.slug,
        "incident": notice.incident.slug,
        "kind": notice.kind,
        "audience": notice.audience,
        "title": localized(notice, "title"),
        "summary": localized(notice, "summary"),
        "published_at": notice.published_at,
        # Our address, never the Host header's: the app shows and shares it.
        "url": f"{settings.PORTAL_BASE_URL}{notice.get_absolute_url()}",
    }


def _reader(request):
    return customer_for_user(request.user) if request.user.is_authenticated else None


class NoticeListView(generics.ListAPIView):
    """Published notices for me: public ones, and those for customers or for the
    affected of my incidents."""

    permission_classes = [AllowAny]
    pagination_class = NewestFirstCursor

    @extend_schema(
        operation_id="notices",
        parameters=[
            OpenApiParameter(
                "incident", str, description="An incident's slug.", pattern=SLUG_PATTERN
            )
        ],
        responses={200: NoticeSummarySerializer(many=True), **OPTIONAL_AUTH_ERRORS},
        tags=["notices"],
        auth=[{"SessionToken": []}, {}],
    )
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([_notice_summary(n) for n in page])

    def get_queryset(self):
        notices = selectors.notices_visible_to(_reader(self.request)).order_by("-id")
        incident = query_slug(self.request, "incident")
        return notices.filter(incident__slug=incident) if incident else notices


class NoticeDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="notice",
        responses={
            200: NoticeDetailSerializer,
            304: OpenApiResponse(description="Not modified"),
            **OPTIONAL_AUTH_ERRORS,
        },
        tags=["notices"],
        auth=[{"SessionToken": []}, {}],
    )
    def get(self, request, slug: str):
        notice = get_object_or_404(selectors.notices_visible_to(_reader(request)), slug=slug)
        data = {
            **_notice_summary(notice),
            "html": str(render_markdown(localized(notice, "body"))),
            "updates": [
                {"at": u.created_at, "html": str(render_markdown(localized(u, "body")))}
                for u in notice.updates.all()
            ],
        }
        return etag_response(request, data)


# --- devices --------------------------------------------------------------------------


class DeviceSerializer(NoUnknownFields, serializers.Serializer):
    id = StrictUUIDField(read_only=True, source="public_id")
    token = StrictCharField(write_only=True, max_length=4096)
    platform = StrictChoiceField(choices=Device.Platform.choices)
    active = serializers.BooleanField(read_only=True)


class DeviceRefreshSerializer(NoUnknownFields, serializers.Serializer):
    token = StrictCharField(max_length=4096)


def _session_key(request) -> str | None:
    """The signed-in session: the app's (its session token) or the browser's."""
    return getattr(request.auth, "session_key", None) or request.session.session_key


class DeviceListView(APIView):
    @extend_schema(
        operation_id="device_register",
        request=DeviceSerializer,
        responses={201: DeviceSerializer, **ERRORS},
        tags=["devices"],
        description=(
            "Register the app's push token, and again with the same token each time the app "
            "starts: a device neither registered nor refreshed for RETENTION_DEVICES_DAYS "
            "(270 by default) is deleted with its token."
        ),
    )
    def post(self, request):
        customer_of(request)
        serializer = DeviceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = services.device_register(
            user=request.user, session_key=_session_key(request), **serializer.validated_data
        )
        return Response(DeviceSerializer(device).data, status=status.HTTP_201_CREATED)


class DeviceDetailView(APIView):
    @extend_schema(
        operation_id="device_refresh",
        request=DeviceRefreshSerializer,
        responses={200: DeviceSerializer, **ERRORS},
        tags=["devices"],
        description="The push token changed (FCM rotates them).",
    )
    def put(self, request, device_id):
        serializer = DeviceRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = services.device_refresh(
            user=request.user,
            public_id=device_id,
            token=serializer.validated_data["token"],
            session_key=_session_key(request),
        )
        return Response(DeviceSerializer(device).data)

    @extend_schema(
        operation_id="device_remove",
        request=None,
        responses={204: OpenApiResponse(description="Removed"), **ERRORS},
        tags=["devices"],
    )
    def delete(self, request, device_id):
        refuse_body(request)
        services.device_remove(user=request.user, public_id=device_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- verify, health -----------------------------------------------------------------------


class VerifyRequestSerializer(NoUnknownFields, serializers.Serializer):
    reference = StrictCharField(
        max_length=40, help_text="Twelve letters and digits; spaces and dashes are ignored."
    )

    def validate_reference(self, value: str) -> str:
        """The stored form; a malformed one is a 400, as on the web page."""
        reference = normalise_reference(value)
        if reference is None:
            raise serializers.ValidationError(MALFORMED, code="malformed")
        return reference


class VerifyAnswerSerializer(serializers.Serializer):
    genuine = serializers.BooleanField()
    channel = serializers.CharField(allow_blank=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    to_hint = serializers.CharField(
        allow_blank=True, help_text="The last two digits of the number, or the masked address."
    )


class VerifyThrottle(KeyedIdent, AnonRateThrottle):
    scope = "verify"


class VerifyView(APIView):
    """Is this message from us? The same answers as /verify, per-address limits."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [VerifyThrottle]

    @extend_schema(
        operation_id="verify",
        request=VerifyRequestSerializer,
        responses={200: VerifyAnswerSerializer, **PUBLIC_ERRORS},
        tags=["verify"],
        auth=[{}],
    )
    def post(self, request):
        from portal.ratelimits import limited

        serializer = VerifyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The page's counts: one budget of guesses, by the page or the app.
        if limited(
            request._request,
            "verify",
            per_ip=settings.VERIFY_RATE_PER_IP,
            overall=settings.VERIFY_RATE_GLOBAL,
        ):
            from rest_framework.exceptions import Throttled

            raise Throttled
        answer = selectors.verify_reference(serializer.validated_data["reference"])
        return Response(
            {
                "genuine": answer.genuine,
                "channel": answer.channel,
                "sent_at": answer.sent_at,
                "to_hint": answer.to_hint,
            }
        )


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unavailable"])
    checks = serializers.DictField(child=serializers.BooleanField())


class HealthView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="health",
        responses={200: HealthSerializer, 503: HealthSerializer, 429: ERRORS[429]},
        tags=["health"],
        auth=[{}],
    )
    def get(self, request):
        checks = health_checks()
        healthy = all(checks.values())
        return Response(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status=200 if healthy else 503,
        )
