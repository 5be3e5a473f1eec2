from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from customers.selectors import customer_for_user
from notices import selectors, services
from notices.forms import SuspiciousReportForm, VerifyForm
from notices.markdown import render_markdown
from notices.models import Notice, OutboxMessage
from portal.i18n import localized
from portal.public_pages import cached_for_visitors, public_language
from portal.ratelimits import limited, over_limit


def _reader(request: HttpRequest):
    return customer_for_user(request.user) if request.user.is_authenticated else None


@cached_for_visitors
def notice_index(request: HttpRequest) -> HttpResponse:
    notices = selectors.notices_visible_to(_reader(request))
    page = Paginator(notices, 20).get_page(request.GET.get("page"))
    public_page = not request.user.is_authenticated
    return render(request, "notices/index.html", {"page": page, "public_page": public_page})


@cached_for_visitors
def notice_detail(request: HttpRequest, slug: str) -> HttpResponse:
    notice = get_object_or_404(Notice.objects.select_related("incident"), slug=slug)
    if not selectors.notices_visible_to(_reader(request)).filter(pk=notice.pk).exists():
        # Not published, or not for this reader: the same answer as no notice at all.
        raise Http404
    updates = [
        {"at": update.created_at, "html": render_markdown(localized(update, "body"))}
        for update in notice.updates.all()
    ]
    language = translation.get_language()
    return render(
        request,
        "notices/notice.html",
        {
            "notice": notice,
            "body_html": render_markdown(localized(notice, "body")),
            "updates": updates,
            # Signed-in readers get the signed-in header (its language form
            # remembers their choice on their record), as on the home page.
            "public_page": notice.audience == Notice.Audience.PUBLIC
            and not request.user.is_authenticated,
            # From the configured address, never the Host header: visitors share
            # one cached copy, and the link they pass on must be ours.
            "canonical": f"{settings.PORTAL_BASE_URL}{notice.get_absolute_url()}?lang={language}",
            # A link to a notice for customers only is a 404 to whoever it is passed to.
            "shareable": notice.audience == Notice.Audience.PUBLIC,
        },
    )


class NoticeFeed(Feed):
    """Atom feed of the public notices, in the language asked for (?lang=fr)."""

    feed_type = Atom1Feed

    def __call__(self, request, *args, **kwargs):
        public_language(request)
        return super().__call__(request, *args, **kwargs)

    def title(self):
        return _("Notices")

    # Absolute links from our address, never the Host header's (Django's Feed
    # would add the request's host to a relative one): readers keep and share them.
    def link(self):
        return f"{settings.PORTAL_BASE_URL}{reverse('notices:index')}"

    def feed_url(self):
        return f"{settings.PORTAL_BASE_URL}{reverse('notices:feed')}"

    def subtitle(self):
        return _("What we have published about the incident, newest first.")

    def items(self):
        # The latest update with the notices, in one query: not one per notice.
        return selectors.notices_visible_to(None).annotate(
            latest_update_at=Max("updates__created_at")
        )[:50]

    def item_title(self, item: Notice) -> str:
        return localized(item, "title")

    def item_description(self, item: Notice) -> str:
        return localized(item, "summary")

    def item_pubdate(self, item: Notice):
        return item.published_at

    def item_updateddate(self, item: Notice):
        return item.latest_update_at or item.published_at

    def item_link(self, item: Notice) -> str:
        return (
            f"{settings.PORTAL_BASE_URL}{item.get_absolute_url()}?lang={translation.get_language()}"
        )


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Is this message from us? Rate-limited per address and overall."""
    # The home page's check box asks by GET (so that page stays cacheable).
    data = request.POST if request.method == "POST" else None
    if data is None and "reference" in request.GET:
        data = request.GET
    form = VerifyForm(data)
    answer = None
    status = 200
    if data is not None:
        if limited(
            request,
            "verify",
            per_ip=_setting("VERIFY_RATE_PER_IP"),
            overall=_setting("VERIFY_RATE_GLOBAL"),
        ):
            return render(
                request, "notices/verify.html", {"form": form, "limited": True}, status=429
            )
        if form.is_valid():
            answer = selectors.verify_reference(form.cleaned_data["reference"])
        else:
            status = 400
    return render(request, "notices/verify.html", {"form": form, "answer": answer}, status=status)


def help_page(request: HttpRequest) -> HttpResponse:
    """Who to call, and a form to report a suspicious message."""
    return render(request, "notices/help.html", {"form": SuspiciousReportForm()})


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    """Report a suspicious message; staff read the reports in the admin."""
    form = SuspiciousReportForm(
        request.POST or None, initial={"reference": request.GET.get("reference", "")}
    )
    if request.method == "POST":
        # Per address, and overall so that a botnet cannot bury real reports.
        over = over_limit(
            request,
            "report",
            per_ip=_setting("REPORT_RATE_PER_IP"),
            overall=_setting("REPORT_RATE_GLOBAL"),
        )
        if over:
            return render(
                request, "notices/report.html", {"form": form, "limited": over}, status=429
            )
        if form.is_valid():
            services.suspicious_report_create(**form.cleaned_data)
            return redirect("notices:report_thanks")
        return render(request, "notices/report.html", {"form": form}, status=400)
    return render(request, "notices/report.html", {"form": form})


def report_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "notices/report_thanks.html")


def _setting(name: str) -> str:
    from django.conf import settings

    return getattr(settings, name)


def _outbox(request: HttpRequest) -> HttpResponse:
    """Demo only: what the outbox channels would have sent, newest first."""
    if not request.user.has_perm("notices.view_outboxmessage"):
        raise PermissionDenied
    messages = OutboxMessage.objects.all()[:200]
    return render(request, "notices/outbox.html", {"outbox": messages})


@login_required
def messages_page(request: HttpRequest) -> HttpResponse:
    """Every alert we sent this customer, on any channel, with its reference."""
    customer = customer_for_user(request.user)
    if customer is None:
        return render(request, "customers/no_record.html")
    page = Paginator(selectors.messages_for_customer(customer), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "notices/messages.html", {"page": page, "customer": customer})


# Staff with MFA only, like the admin (it holds sign-in codes).
outbox = admin.site.admin_view(_outbox)
