"""More of a web through SharePoint REST, for ``GraphSandbox``: its site columns, content types and regional
settings, as office365-rest-python-client's ``Web.fields`` / ``available_fields``, ``content_types`` /
``available_content_types`` and ``regional_settings`` (``/TimeZone``) read them (GET only).

- ``web/Fields`` and ``web/AvailableFields`` (with ``GetByInternalNameOrTitle('…')``, ``GetByTitle``,
  ``GetById``, ``('<guid>')``, ``$filter``, ``$select``): the usual document library fields
  (``rest_lists.FIELDS``) as the web's columns [unc: a real web has some hundreds].
- ``web/ContentTypes`` and ``web/AvailableContentTypes`` (with ``('<id>')`` or ``GetById('<id>')``): Item
  (``0x01``), Document (``0x0101``) and Folder (``0x0120``) [unc: a real web has many more].
- ``web/RegionalSettings`` and ``web/RegionalSettings/TimeZone``: English (United States), 1033, the site in
  "(UTC) Coordinated Universal Time" (SharePoint's time zone id 93 [unc]), as a new site is often set up.
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest_field_writes import rows_of
from sandbox.sharepoint.rest_lists import field_rows

TYPES = (("0x01", "Item", "Create a new list item.", "List Content Types"),
         ("0x0101", "Document", "Create a new document.", "Document Content Types"),
         ("0x0120", "Folder", "Create a new folder.", "Folder Content Types"))
UTC = {"Id": 93, "Description": "(UTC) Coordinated Universal Time",
       "Information": {"Bias": 0, "DaylightBias": 0, "StandardBias": 0}}
REGIONAL = {"AdjustHijriDays": 0, "AlternateCalendarType": 0, "AM": "AM", "CalendarType": 1, "Collation": 25,
            "CollationLCID": 2070, "DateFormat": 0, "DateSeparator": "/", "DecimalSeparator": ".",
            "DigitGrouping": "3;0", "FirstDayOfWeek": 0, "FirstWeekOfYear": 0, "IsEastAsia": False,
            "IsRightToLeft": False, "IsUIRightToLeft": False, "ListSeparator": ",", "LocaleId": 1033,
            "NegativeSign": "-", "NegNumberMode": 1, "PM": "PM", "PositiveSign": "", "ShowWeeks": False,
            "ThousandSeparator": ",", "Time24": False, "TimeMarkerPosition": 0, "TimeSeparator": ":",
            "WorkDayEndHour": 1020, "WorkDays": 62, "WorkDayStartHour": 480}


class RestWebMore:
    """Mixed into ``GraphSandbox`` with ``RestApi`` and ``RestLists``."""

    def rest_web_more(self, req: Request, site: str, segs: list[tuple[str, str | None]], verbose: bool
                      ) -> Response | None:
        """The answer to ``web/Fields``, ``ContentTypes``, ``RegionalSettings`` … (``segs`` after ``web``),
        or None when ``segs`` names none of these."""
        names = [n for n, _ in segs]
        if not names:
            return None
        abs_url = self._rest_web_url(req)[0]
        schema = self.web_schema(site)  # rest_schema_log.py: the site columns and types made through REST
        if names[0] in ("fields", "availablefields"):
            base = f"{abs_url}/_api/Web/{'Fields' if names[0] == 'fields' else 'AvailableFields'}"
            rows = rows_of(site, schema, field_rows(site, []))  # rest_field_writes.py
            if req.method != "GET" and names[0] == "fields":
                return self.rest_fields_write(req, site, schema, rows, base, segs, verbose,
                                              self.rest_grant(req, site) == "write")
            return self.rest_fields_answer(req, rows, base, segs, verbose)  # rest_lists.py
        if names[0] == "contenttypes" and req.method != "GET":
            return self.rest_web_types_write(req, site, segs, {t[0] for t in TYPES}, verbose)
        if req.method != "GET":
            return None
        if names[0] in ("contenttypes", "availablecontenttypes"):
            types = [self._web_content_type(req, t, verbose) for t in [*TYPES, *self.web_type_rows(site)]]
            return self._rest_content_type_answer(types, segs, verbose)  # rest_schema.py
        if names == ["regionalsettings"]:
            return self._rest_json(self._rest_entity(dict(REGIONAL), "SP.RegionalSettings",
                                                     f"{abs_url}/_api/Web/RegionalSettings", verbose), verbose)
        if names == ["regionalsettings", "timezone"]:
            return self._rest_json(self._rest_entity(
                {**UTC, "Information": dict(UTC["Information"])}, "SP.TimeZone",
                f"{abs_url}/_api/Web/RegionalSettings/TimeZone", verbose), verbose)
        return None

    def _web_content_type(self, req: Request, row: tuple[str, str, str, str], verbose: bool) -> dict[str, Any]:
        cid, name, desc, group = row
        props: dict[str, Any] = {"Id": {"StringValue": cid}, "StringId": cid, "Name": name, "Description": desc,
                                 "Group": group, "Hidden": False, "ReadOnly": False, "Sealed": False,
                                 "Scope": self._rest_web_url(req)[1]}
        if verbose:
            props["Id"] = {"__metadata": {"type": "SP.ContentTypeId"}, "StringValue": cid}
        return self._rest_entity(props, "SP.ContentType",
                                 f"{self._rest_web_url(req)[0]}/_api/Web/ContentTypes('{cid}')", verbose)
