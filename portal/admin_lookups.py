"""Admin lists filter only by their own filters.

Django's admin accepts any lookup on a model's own fields as a URL parameter
(`?email__regex=^jo`, `?to__startswith=+614`), whatever the list shows. Staff
who may see a masked list could then find anyone's email, phone or name one
character at a time, without the reveal permission and without an audit entry.
Every admin on this site (portal/staff_auth.py) takes only the parameters its
list filters and date hierarchy make, plus the raw-id pop-ups' own.

Likewise ``?o=`` sorts only by the columns ``sortable_by`` names (Django only
hides the other headers' links): on a table of millions, an unindexed sort is
a full-table sort.
"""

from __future__ import annotations

from functools import cache

from django.contrib import messages
from django.contrib.admin import ModelAdmin, helpers, widgets
from django.contrib.admin.filters import ListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models.constants import LOOKUP_SEP
from django.utils.translation import gettext as _

# What the admin's own filters put in a URL after a field's path.
FILTER_LOOKUPS = frozenset(
    {"exact", "isnull", "in", "gte", "lt", "lte", "gt", "year", "month", "day", "id", "pk"}
)


class SortableOnly(ChangeList):
    def get_ordering_field(self, field_name):
        if self.sortable_by is not None and field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)


@cache
def _sortable_only(changelist: type[ChangeList]) -> type[ChangeList]:
    # One class per change list class, not a new one per request.
    if issubclass(changelist, SortableOnly):
        return changelist
    return type(changelist.__name__, (SortableOnly, changelist), {})


class FilterLookupsOnly(ModelAdmin):
    def get_changelist(self, request, **kwargs):
        return _sortable_only(super().get_changelist(request, **kwargs))

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if self._raw_id_popup_lookup(lookup, value):
            return True
        if lookup in self._simple_filter_parameters(request):
            return True
        for path in self._filtered_paths(request):
            if lookup == path:
                return True
            if lookup.startswith(path + LOOKUP_SEP):
                rest = lookup[len(path) + len(LOOKUP_SEP) :].split(LOOKUP_SEP)
                if all(part in FILTER_LOOKUPS for part in rest):
                    return super().lookup_allowed(lookup, value, request)
        return False

    def get_changelist_instance(self, request):
        # A NUL character in a filter (Django checks the search box itself) is a
        # DataError on PostgreSQL, when the list is read: a 500.
        if any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            raise IncorrectLookupParameters("a NUL character in a filter")
        # Django turns a date that cannot be (?created_at__year=abc, a ValueError)
        # into IncorrectLookupParameters, but not a year too large for C's int.
        try:
            return super().get_changelist_instance(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc

    def get_search_results(self, request, queryset, search_term):
        # The list's search box refuses a NUL itself; the autocomplete's `term`
        # (admin/autocomplete/?term=%00) reached the query: a DataError on PostgreSQL.
        if "\x00" in search_term:
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def response_action(self, request, queryset):
        # Django filters pk__in on the ticked boxes' values as posted: one that is
        # not a key (`_selected_action=abc`, a ValueError) or out of the column's
        # range, or with a NUL (a DataError on PostgreSQL), was a 500.
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not all(self._is_a_key(value) for value in selected):
            self.message_user(
                request, _("The items selected are not valid: select them again."), messages.ERROR
            )
            return None
        return super().response_action(request, queryset)

    def _is_a_key(self, value: str) -> bool:
        pk = self.model._meta.pk
        if "\x00" in value:
            return False
        try:
            key = pk.to_python(value)
        except ValidationError:
            return False
        if isinstance(key, int):
            connection = connections[router.db_for_read(self.model)]
            low, high = connection.ops.integer_field_range(pk.get_internal_type())
            return (low is None or key >= low) and (high is None or key <= high)
        return True

    def _filtered_paths(self, request) -> list[str]:
        paths = []
        for entry in self.get_list_filter(request):
            field = entry[0] if isinstance(entry, (tuple, list)) else entry
            if isinstance(field, str):
                paths.append(field)
        if self.date_hierarchy:
            paths.append(self.date_hierarchy)
        return paths

    def _simple_filter_parameters(self, request) -> set[str]:
        return {
            entry.parameter_name
            for entry in self.get_list_filter(request)
            if isinstance(entry, type)
            and issubclass(entry, ListFilter)
            and getattr(entry, "parameter_name", None)
        }

    def _raw_id_popup_lookup(self, lookup, value) -> bool:
        # ForeignKeyRawIdWidget's pop-ups pass a relation's limit_choices_to.
        for fk_lookup in self.model._meta.related_fkey_lookups:
            if callable(fk_lookup):
                fk_lookup = fk_lookup()
            if (lookup, value) in widgets.url_params_from_lookup_dict(fk_lookup).items():
                return True
        return False


def with_filter_lookups_only(admin_class: type[ModelAdmin] | None) -> type[ModelAdmin]:
    admin_class = admin_class or ModelAdmin
    if issubclass(admin_class, FilterLookupsOnly):
        return admin_class
    return type(
        admin_class.__name__,
        (FilterLookupsOnly, admin_class),
        {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
    )
