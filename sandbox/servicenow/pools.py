"""Word pools that make generated ServiceNow data look like a real instance's.

Values are shared string objects, which keeps million-row datasets compact.
"""

FIRST_NAMES = (
    "Abel", "Beth", "Carla", "David", "Elena", "Fred", "Grace", "Hiro", "Ines", "Jamal", "Kara", "Liam", "Maya",
    "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wei", "Ximena", "Yusuf", "Zoe",
    "Aiden", "Bianca", "Chen", "Dario", "Emeka", "Fatima", "Gustav", "Hana", "Ivan", "Julia", "Kofi", "Lena",
    "Marco", "Nadia", "Omar", "Paula", "Rafael", "Sofia", "Tomas", "Valeria", "Wanda", "Yara",
)
LAST_NAMES = (
    "Tuter", "Geller", "Fortich", "Loo", "Petrova", "Luddy", "Okafor", "Tanaka", "Moreno", "Haddad", "Nilsen",
    "Murphy", "Patel", "Schmidt", "Kowalski", "Rossi", "Dubois", "Silva", "Nguyen", "Kim", "Brown", "Garcia",
    "Muller", "Novak", "Andersen", "Costa", "Ibrahim", "Jensen", "Lopez", "Mensah", "OConnor", "Park", "Reyes",
    "Sato", "Weber", "Zhang", "Ahmed", "Bauer", "Clarke", "Dimitrov",
)
TITLES = ("Service Desk Analyst", "Network Engineer", "Database Administrator", "Systems Administrator",
          "Security Analyst", "IT Manager", "Application Developer", "Change Manager", "Risk Analyst",
          "Privacy Officer", "Cloud Engineer", "Business Analyst", "Site Reliability Engineer")
TIME_ZONES = ("GMT", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo")
GROUPS = (
    ("Service Desk", "First line support"), ("Network", "WAN, LAN and firewall operations"),
    ("Database", "Database administration"), ("Hardware", "Desktop and server hardware"),
    ("Software", "Business application support"), ("IT Securities", "Security operations"),
    ("Linux Admins", "Linux server administration"), ("Windows Admins", "Windows server administration"),
    ("CAB Approval", "Change advisory board"), ("Application Development", "In-house development"),
    ("Cloud Platform", "Public cloud landing zones"), ("Identity and Access", "Accounts and access reviews"),
    ("Storage", "SAN and backup"), ("Field Services", "On-site support"), ("GRC Remediation", "Control fixes"),
)
REGIONS = ("EMEA", "AMER", "APAC", "LATAM")
CI_CLASSES = (
    ("cmdb_ci_linux_server", "lnx", "Hardware", "Computer"), ("cmdb_ci_win_server", "win", "Hardware", "Computer"),
    ("cmdb_ci_server", "srv", "Hardware", "Computer"), ("cmdb_ci_database", "db", "Software", "Database"),
    ("cmdb_ci_appl", "app", "Software", "Application"), ("cmdb_ci_netgear", "net", "Hardware", "Network"),
    ("cmdb_ci_computer", "ws", "Hardware", "Computer"),
)
CI_ROLES = ("web", "api", "db", "cache", "mq", "batch", "auth", "mail", "file", "dns", "proxy", "erp", "crm", "hr")
ENVIRONMENTS = ("Production", "Production", "Production", "Test", "Development", "Staging")
DISCOVERY = ("ServiceNow", "SCCM", "Manual Entry", "AWS", "Azure", "ImportSet")

INCIDENT_TOPICS = (
    ("network", "vpn", "Unable to connect to VPN from home office"),
    ("network", "wan", "Branch office network is down"),
    ("network", "dns", "Intermittent DNS resolution failures"),
    ("hardware", "laptop", "Laptop does not boot after update"),
    ("hardware", "printer", "Printer on floor 3 is jammed"),
    ("hardware", "monitor", "Second monitor flickers"),
    ("software", "email", "Email not syncing on mobile device"),
    ("software", "erp", "ERP month-end report fails with timeout"),
    ("software", "os", "Windows update stuck at 35%"),
    ("software", "crm", "CRM login page returns error 500"),
    ("database", "oracle", "Database connections exhausted on payroll DB"),
    ("database", "sql server", "Slow queries on reporting warehouse"),
    ("inquiry", "antivirus", "Antivirus flagged a suspicious attachment"),
    ("inquiry", "internal application", "Request access to the HR portal"),
    ("network", "wireless", "Wi-Fi drops in meeting rooms"),
    ("software", "collaboration", "Video calls disconnect after 10 minutes"),
    ("hardware", "server", "Disk failure alert on storage array"),
    ("database", "backup", "Nightly backup job failed"),
    ("inquiry", "password", "Password reset for locked account"),
    ("software", "security", "Expired TLS certificate on customer portal"),
)
DESCRIPTIONS = (
    "User reports the issue started this morning. Screenshots attached to the ticket.",
    "Monitoring raised an alert; several users affected in the same building.",
    "Issue reproduced by the service desk. Escalated to the resolver group.",
    "Caller states the problem is intermittent and blocks daily work.",
    "Automatic event created from the monitoring integration.",
    "Workaround provided; permanent fix pending vendor response.",
)
CLOSE_CODES = ("Solved (Work Around)", "Solved (Permanently)", "Solved Remotely (Work Around)",
               "Solved Remotely (Permanently)", "Not Solved (Not Reproducible)", "Closed/Resolved by Caller")
CLOSE_NOTES = ("Restarted the service and confirmed with the caller.", "Replaced faulty hardware.",
               "Applied configuration change; monitoring green.", "User confirmed the issue is resolved.")
CONTACT_TYPES = ("phone", "email", "self-service", "walk-in", "monitoring", "chat")
CHANGE_TOPICS = (
    "Patch Linux web servers", "Upgrade Oracle database to 19c", "Replace core switch in DC1",
    "Rotate TLS certificates on customer portal", "Deploy CRM release 4.2", "Increase SAN capacity",
    "Migrate file shares to cloud storage", "Enable MFA for VPN users", "Decommission legacy mail relay",
    "Update firewall rules for payments API",
)
CHANGE_PLANS = ("1. Notify stakeholders 2. Apply change 3. Verify monitoring",
                "Follow the runbook attached to the change; rollback tested in staging.")
CATALOG_ITEMS = ("New laptop", "Software license: Visio", "Access to finance share", "Mobile phone",
                 "Standard desktop", "Additional monitor", "VPN token", "Developer workstation")
FILE_KINDS = (("notes.txt", "text/plain"), ("evidence.pdf", "application/pdf"), ("export.csv", "text/csv"),
              ("screenshot.log", "text/plain"))
