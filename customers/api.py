"""The app's view of a customer: profile, incidents, exposures, steps.

Every queryset starts from the signed-in customer; anything else is a 404.
"""

from __future__ import annotations

from urllib.parse import urljoin

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from customers import selectors, services
from customers.links import link_scheme
from customers.masking import mask_email, mask_phone
from customers.models import Channel, Customer, Incident, Language, Sensitivity
from portal.api import NoUnknownFields, StrictChoiceField, etag_response, refuse_body
from portal.api_docs import ERRORS
from portal.i18n import localized


def customer_of(request) -> Customer:
    """The signed-in customer; a login with no customer record sees nothing (404)."""
    customer = selectors.customer_for_user(request.user)
    if customer is None:
        raise Http404
    return customer


def statuses_of(request) -> list:
    """The signed-in customer's statuses (one round trip); 404 without a record."""
    found = selectors.dashboard_for_user(request.user)
    if found is None:
        raise Http404
    return found[1]


class MeSerializer(serializers.Serializer):
    customer_ref = serializers.CharField(read_only=True)
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True, help_text="Masked, e.g. j•••@example.com.")
    phone = serializers.CharField(read_only=True, help_text="Masked, e.g. •••• ••• 321.")
    email_verified = serializers.BooleanField(read_only=True)
    phone_verified = serializers.BooleanField(read_only=True)
    is_current = serializers.BooleanField(read_only=True)
    preferred_language = serializers.ChoiceField(choices=Language.choices)
    preferred_channel = serializers.ChoiceField(
        choices=[("", "none"), *Channel.choices], allow_blank=True
    )

    def to_representation(self, customer: Customer) -> dict:
        return {
            "customer_ref": customer.customer_ref,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": mask_email(customer.email) if customer.email else "",
            "phone": mask_phone(customer.phone) if customer.phone else "",
            "email_verified": customer.email_verified,
            "phone_verified": customer.phone_verified,
            "is_current": customer.is_current,
            "preferred_language": customer.preferred_language,
            "preferred_channel": customer.preferred_channel,
        }


class PreferencesSerializer(NoUnknownFields, serializers.Serializer):
    preferred_language = StrictChoiceField(choices=Language.choices, required=False)
    preferred_channel = StrictChoiceField(
        choices=[("", "none"), *Channel.choices], allow_blank=True, required=False
    )


class MeView(APIView):
    @extend_schema(operation_id="me", responses={200: MeSerializer, **ERRORS}, tags=["me"])
    def get(self, request):
        return Response(MeSerializer(customer_of(request)).data)

    @extend_schema(
        operation_id="me_update",
        request=PreferencesSerializer,
        responses={200: MeSerializer, **ERRORS},
        tags=["me"],
        description="Change the preferred language or channel. To change the email or phone, "
        "use /api/v1/me/contact (a code confirms the new one).",
    )
    def patch(self, request):
        customer = customer_of(request)
        serializer = PreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = services.customer_preferences_update(
            customer=customer, **serializer.validated_data
        )
        return Response(MeSerializer(customer).data)


class IncidentSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    what_we_are_doing = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in (Incident.Status.ACTIVE, Incident.Status.CLOSED)],
        help_text="`closed`: over, though the steps for what was exposed still apply.",
    )
    occurred_at = serializers.DateTimeField(allow_null=True)
    discovered_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was closed; null while it is active."
    )
    affected = serializers.BooleanField()


class StepSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    link = serializers.CharField(
        allow_blank=True,
        help_text="An absolute address (https, or a page of the portal), a `mailto:` or "
        "`tel:` link, or empty.",
    )
    priority = serializers.IntegerField()
    done = serializers.BooleanField()


class ExposedFieldSerializer(serializers.Serializer):
    data_class = serializers.CharField()
    label = serializers.CharField()
    masked_value = serializers.CharField()
    sensitivity = serializers.IntegerField(help_text="1 low … 4 critical")
    sensitivity_label = serializers.CharField()
    why_it_matters = serializers.CharField()
    steps = StepSerializer(many=True)


class ExposureSerializer(serializers.Serializer):
    incident = serializers.CharField(help_text="The incident's slug.")
    affected = serializers.BooleanField()
    steps_done = serializers.IntegerField()
    steps_total = serializers.IntegerField()
    fields = ExposedFieldSerializer(many=True)


def _incident(status) -> dict:
    incident = status.incident
    return {
        "slug": incident.slug,
        "title": localized(incident, "title"),
        "summary": localized(incident, "summary"),
        "what_we_are_doing": localized(incident, "actions"),
        "status": incident.status,
        "occurred_at": incident.occurred_at,
        "discovered_at": incident.discovered_at,
        "closed_at": incident.closed_at if status.closed else None,
        "affected": status.affected,
    }


def _exposure(status) -> dict:
    return {
        "incident": status.incident.slug,
        "affected": status.affected,
        "steps_done": status.steps_done,
        "steps_total": status.steps_total,
        "fields": [
            {
                "data_class": card.data_class.code,
                "label": localized(card.data_class, "label"),
                "masked_value": card.masked_value,
                "sensitivity": card.data_class.sensitivity,
                "sensitivity_label": _sensitivity_label(card.data_class.sensitivity),
                "why_it_matters": localized(card.data_class, "explanation"),
                "steps": [
                    {
                        "code": item.step.code,
                        "title": localized(item.step, "title"),
                        "body": localized(item.step, "body"),
                        "link": _step_link(item.step),
                        "priority": item.step.priority,
                        "done": item.done,
                    }
                    for item in card.steps
                ],
            }
            for card in status.cards
        ],
    }


def _step_link(step) -> str:
    """A page of the portal (``/help/``) as an absolute address: an API client
    has no page to resolve it against."""
    link = step.safe_link_url
    if link and not link_scheme(link):
        return urljoin(settings.PORTAL_BASE_URL + "/", link.strip())
    return link


def _sensitivity_label(value: int) -> str:
    """get_sensitivity_display() without its cost: it translates every choice
    to look one up (a quarter of this endpoint's time, five times a request)."""
    try:
        return str(Sensitivity(value).label)
    except ValueError:
        return str(value)


class IncidentListView(APIView):
    @extend_schema(
        operation_id="incidents",
        responses={200: IncidentSerializer(many=True), **ERRORS},
        tags=["status"],
        description="Incidents that concern me: every active one (affected or not) and any "
        "that exposed my data.",
    )
    def get(self, request):
        statuses = statuses_of(request)
        return Response([_incident(s) for s in statuses])


class ExposureListView(APIView):
    @extend_schema(
        operation_id="exposures",
        responses={
            200: ExposureSerializer(many=True),
            304: OpenApiResponse(description="Not modified"),
            **ERRORS,
        },
        tags=["status"],
        description="What of mine was exposed, per incident, with the steps to take, most "
        "urgent first (a closed incident's too: /api/v1/incidents says which are closed and "
        "since when). Send If-None-Match with the last ETag to get 304 when nothing changed.",
    )
    def get(self, request):
        statuses = statuses_of(request)
        return etag_response(request, [_exposure(s) for s in statuses])


class StepDoneView(APIView):
    @extend_schema(
        operation_id="step_done",
        request=None,
        responses={204: OpenApiResponse(description="Marked as done"), **ERRORS},
        tags=["status"],
    )
    def put(self, request, code: str):
        return self._set(request, code, done=True)

    @extend_schema(
        operation_id="step_undo",
        request=None,
        responses={204: OpenApiResponse(description="Marked as not done"), **ERRORS},
        tags=["status"],
    )
    def delete(self, request, code: str):
        return self._set(request, code, done=False)

    @staticmethod
    def _set(request, code: str, *, done: bool):
        customer = customer_of(request)
        refuse_body(request)
        step = selectors.step_for_customer(customer, code)
        if step is None:
            raise Http404
        services.step_progress_set(customer=customer, step=step, done=done)
        return Response(status=status.HTTP_204_NO_CONTENT)
