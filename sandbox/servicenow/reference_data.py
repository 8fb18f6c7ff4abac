"""Foundation tables every instance has and other tables' reference fields point at: companies
(core_company: incident.company, cmdb_ci.manufacturer), locations (cmn_location: incident.location,
cmdb_ci.location) and departments (cmn_department: sys_user.department).

Their rows are fixed (MD5 sys_ids, a 2020 creation date, like `meta_tables`), so they neither depend on
nor move the seed; they read, query, write and describe themselves (sys_db_object, sys_dictionary) like
any table. Guessed [unc]: the base system's demo data also links users, CIs and tasks to these rows;
the seeded CIs and tasks here leave those reference fields empty, so dot-walks through them find nothing.
Users do have a department (the one their title works in, `DEPARTMENT_OF_TITLE`, no draw from the
seed; the integration user has none) and each department with members a head (`dept_head`, its first
member in sys_user order; Finance, the demo data's, its own, `well_known`), so PySNC's documented dot-walk
(`gr.fields = 'sys_id,opened_by,opened_by.email,opened_by.department.dept_head'`, then
`gr.opened_by.department.dept_head`) finds values: pysnc raises AttributeError when the walked
reference is empty.
"""

from __future__ import annotations

import hashlib

from sandbox.servicenow.schema import SYS_FIELDS, Field, TableSchema
from sandbox.servicenow.well_known import FINANCE_SYS_ID

SINCE = "2020-01-01 00:00:00"


def _f(name: str, kind: str = "string", ref: str | None = None) -> Field:
    return Field(name, kind, ref)


_ADDRESS = (_f("street"), _f("city"), _f("state"), _f("zip"), _f("country"))
REFERENCE_SCHEMAS = {s.name: s for s in (
    TableSchema("core_company", (
        _f("sys_id"), _f("name"), *_ADDRESS, _f("phone"), _f("website", "url"), _f("stock_symbol"),
        _f("manufacturer", "boolean"), _f("vendor", "boolean"), _f("customer", "boolean"),
        _f("primary", "boolean"), _f("parent", "reference", "core_company"), *SYS_FIELDS), None, "name", None,
        {"manufacturer": "false", "vendor": "false", "customer": "false", "primary": "false",
         "sys_domain": "global"}),
    TableSchema("cmn_location", (
        _f("sys_id"), _f("name"), _f("full_name"), *_ADDRESS, _f("latitude"), _f("longitude"), _f("time_zone"),
        _f("parent", "reference", "cmn_location"), _f("company", "reference", "core_company"), *SYS_FIELDS),
        None, "full_name", None, {"sys_domain": "global"}),
    TableSchema("cmn_department", (
        _f("sys_id"), _f("name"), _f("id"), _f("description"), _f("dept_head", "reference", "sys_user"),
        _f("company", "reference", "core_company"), _f("parent", "reference", "cmn_department"),
        _f("business_unit"), _f("cost_center"), *SYS_FIELDS), None, "name", None, {"sys_domain": "global"}),
)}

OWN_COMPANY = "Project X Corp"
_COMPANIES = (  # name, city, country, stock symbol, manufacturer, vendor
    (OWN_COMPANY, "San Diego", "USA", "", "false", "false"),
    ("Dell Inc.", "Round Rock", "USA", "DELL", "true", "true"),
    ("Hewlett Packard Enterprise", "Houston", "USA", "HPE", "true", "true"),
    ("Cisco Systems", "San Jose", "USA", "CSCO", "true", "true"),
    ("Microsoft", "Redmond", "USA", "MSFT", "true", "true"),
    ("Lenovo", "Beijing", "China", "LNVGY", "true", "true"),
    ("Amazon Web Services", "Seattle", "USA", "AMZN", "false", "true"),
)
_LOCATIONS = (  # name, city, state, country, latitude, longitude, time zone
    ("San Diego HQ", "San Diego", "CA", "USA", "32.7157", "-117.1611", "America/Los_Angeles"),
    ("New York Office", "New York", "NY", "USA", "40.7128", "-74.0060", "America/New_York"),
    ("London Office", "London", "", "UK", "51.5074", "-0.1278", "Europe/London"),
    ("Berlin Office", "Berlin", "", "Germany", "52.5200", "13.4050", "Europe/Berlin"),
    ("Singapore Office", "Singapore", "", "Singapore", "1.3521", "103.8198", "Asia/Singapore"),
    ("Frankfurt Data Center", "Frankfurt", "", "Germany", "50.1109", "8.6821", "Europe/Berlin"),
)
_DEPARTMENTS = (  # name, id, cost center
    ("IT", "IT", "CC-100"), ("Finance", "FIN", "CC-200"), ("HR", "HR", "CC-300"), ("Sales", "SALES", "CC-400"),
    ("Customer Support", "SUP", "CC-500"), ("Development", "DEV", "CC-600"), ("Legal", "LEGAL", "CC-700"),
)

# the department a seeded user's title works in [unc: the demo data's own assignment is its own]
DEPARTMENT_OF_TITLE = {
    "Service Desk Analyst": "Customer Support", "Application Developer": "Development", "Risk Analyst": "Finance",
    "Privacy Officer": "Legal", "Business Analyst": "Sales", "Change Manager": "IT", "Network Engineer": "IT",
    "Database Administrator": "IT", "Systems Administrator": "IT", "Security Analyst": "IT", "IT Manager": "IT",
    "Cloud Engineer": "IT", "Site Reliability Engineer": "IT",
}


def ref_id(table: str, name: str) -> str:
    if (table, name) == ("cmn_department", "Finance"):  # the demo data's id (`well_known`)
        return FINANCE_SYS_ID
    return hashlib.md5(f"{table}:{name}".encode()).hexdigest()  # an identifier, not a secret


def _row(table: str, values: dict[str, str]) -> tuple[str, ...]:
    schema = REFERENCE_SCHEMAS[table]
    base = {**schema.defaults, "sys_id": ref_id(table, values["name"]), "sys_class_name": table,
            "sys_created_on": SINCE, "sys_updated_on": SINCE, "sys_created_by": "system",
            "sys_updated_by": "system", "sys_mod_count": "0"}
    return tuple({**base, **values}.get(f, "") for f in schema.names)


def department_of(title: str) -> str:
    """The sys_id of the department a seeded user with this title belongs to ("" for none)."""
    name = DEPARTMENT_OF_TITLE.get(title, "")
    return ref_id("cmn_department", name) if name else ""


def reference_rows(heads: dict[str, str] | None = None) -> dict[str, list[tuple[str, ...]]]:
    """Fresh row lists for the three tables (a store owns and mutates its lists); `heads` maps a
    department's sys_id to its head's (sys_user) sys_id."""
    own = ref_id("core_company", OWN_COMPANY)
    heads = heads or {}
    return {
        "core_company": [_row("core_company", {
            "name": name, "city": city, "country": country, "stock_symbol": symbol, "manufacturer": maker,
            "vendor": vendor, "customer": "false", "primary": "true" if name == OWN_COMPANY else "false"})
            for name, city, country, symbol, maker, vendor in _COMPANIES],
        "cmn_location": [_row("cmn_location", {
            "name": name, "full_name": name, "city": city, "state": state, "country": country, "latitude": lat,
            "longitude": lon, "time_zone": tz, "company": own})
            for name, city, state, country, lat, lon, tz in _LOCATIONS],
        "cmn_department": [_row("cmn_department", {
            "name": name, "id": code, "cost_center": cost, "company": own, "description": f"{name} department",
            "dept_head": heads.get(ref_id("cmn_department", name), "")})
            for name, code, cost in _DEPARTMENTS],
    }
