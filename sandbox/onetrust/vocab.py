"""Fixed vocabularies for OneTrust seed data: names, people, org groups, templates, levels, controls.

Nothing here is random; `seed.py` draws from these lists with a seeded RNG.
"""

from __future__ import annotations

REGION_HOSTS = {
    "us": "app.onetrust.com",
    "eu": "app-eu.onetrust.com",
    "de": "app-de.onetrust.com",
    "uk": "app-uk.onetrust.com",
    "apac": "app-apac.onetrust.com",
    "trial": "trial.onetrust.com",
    "uat": "uat.onetrust.com",
}

ALL_SCOPES = (
    "ASSESSMENT", "ASSESSMENT_READ", "RISK", "RISK_READ", "INVENTORY", "INVENTORY_READ", "INVENTORY_WRITE",
    "VRM", "VRM_READ", "CONTROL", "INTEGRATION", "GENERIC",
)

# Risk matrix: probability (1..4) x impact (1..4) -> score; score bands -> level.
LEVELS = ("Low", "Medium", "High", "Very High")
LEVEL_IDS = {"Low": 1, "Medium": 2, "High": 3, "Very High": 4}
LEVEL_COLORS = {"Low": "#6CC04A", "Medium": "#FFD500", "High": "#FA7D00", "Very High": "#D62020"}
AXIS = ("Low", "Medium", "High", "Very High")


def level_for_score(score: float) -> str:
    """Matrix score (1..16) -> level: <=2 Low, <=4 Medium, <=8 High, else Very High."""
    if score <= 2:
        return "Low"
    if score <= 4:
        return "Medium"
    if score <= 8:
        return "High"
    return "Very High"


ORG_GROUPS = ("Project X", "Corporate IT", "Finance", "Human Resources", "Marketing", "Customer Operations",
              "Research & Development", "Legal & Compliance")

PEOPLE = (
    ("Amelia Hart", "amelia.hart"), ("Bruno Keller", "bruno.keller"), ("Chen Wei", "chen.wei"),
    ("Dana Okafor", "dana.okafor"), ("Elif Yilmaz", "elif.yilmaz"), ("Farah Haddad", "farah.haddad"),
    ("Gustavo Lima", "gustavo.lima"), ("Hannah Schmidt", "hannah.schmidt"), ("Ishaan Rao", "ishaan.rao"),
    ("Julia Novak", "julia.novak"), ("Kenji Sato", "kenji.sato"), ("Laura Moreau", "laura.moreau"),
    ("Mateo Garcia", "mateo.garcia"), ("Nina Petrova", "nina.petrova"), ("Owen Brennan", "owen.brennan"),
    ("Priya Nair", "priya.nair"), ("Quentin Dubois", "quentin.dubois"), ("Rosa Bianchi", "rosa.bianchi"),
)
EMAIL_DOMAIN = "projectx.example"

VENDOR_PREFIXES = (
    "Acme", "Globex", "Initech", "Umbrella", "Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Litware",
    "Adatum", "Proseware", "Lucerne", "Woodgrove", "Fourth Coffee", "Trey", "Blue Yonder", "Coho", "Alpine",
    "Vanarsdel", "Nod", "Relecloud", "Humongous", "Southridge", "Graphic Design", "Munson", "Bellows", "Datum",
    "Margie", "Consolidated", "Lamna", "Lakeshore", "Fineline", "Woodbridge", "Stellar", "Brightpath", "Ironclad",
    "Quantum", "Silverline", "Harbor",
)
VENDOR_DOMAINS = (
    "Cloud", "Data", "Analytics", "Payroll", "Security", "Logistics", "Marketing", "Health", "HR", "Payments",
    "Hosting", "Networks", "Software", "Consulting", "Telecom", "Print", "Travel", "Benefits", "Identity",
    "Storage", "AI", "CRM", "Messaging", "Legal", "Facilities",
)
VENDOR_SUFFIXES = ("Inc.", "Ltd", "GmbH", "LLC", "S.A.", "Pty Ltd", "plc", "B.V.", "AB", "K.K.", "SAS", "Corp.")
VENDOR_TYPES = ("Software Vendor", "Cloud Service Provider", "Professional Services", "Data Processor",
                "Payment Processor", "Telecommunications", "Facilities & Logistics", "Marketing Agency")
COUNTRIES = ("United States", "Germany", "United Kingdom", "France", "Ireland", "Netherlands", "India", "Japan",
             "Australia", "Singapore", "Canada", "Brazil")
CRITICALITY = ("Critical", "High", "Medium", "Low")
TIERS = {"Critical": "Tier 1", "High": "Tier 2", "Medium": "Tier 3", "Low": "Tier 4"}

# Assessment templates: (templateType, templateName).
TEMPLATES = (
    ("PIA", "Privacy Impact Assessment (PIA)"),
    ("PIA", "Data Protection Impact Assessment (DPIA)"),
    ("PIA", "Privacy Threshold Analysis"),
    ("VENDOR", "Vendor Security & Privacy Assessment"),
    ("VENDOR", "Third-Party Due Diligence Questionnaire"),
    ("ITRM", "IT Risk Assessment"),
    ("CONTROL", "Control Self-Assessment"),
)
STATUSES = ("Not Started", "In Progress", "Under Review", "Completed")
STATUS_ENUM = {"Not Started": "NOT_STARTED", "In Progress": "IN_PROGRESS", "Under Review": "UNDER_REVIEW",
               "Completed": "COMPLETED"}
RESULTS = ("Approved", "Rejected", "Approved with Conditions")
PROCESSING = (
    "Customer Onboarding", "Payroll Processing", "Marketing Email Campaigns", "Employee Background Checks",
    "CCTV Monitoring", "Customer Support Ticketing", "Website Analytics", "Recruitment Pipeline",
    "Loyalty Programme", "Fraud Detection Model", "Health & Safety Reporting", "Data Warehouse Migration",
    "Mobile App Telemetry", "Expense Management", "Benefits Enrolment", "AI Chat Assistant",
)
TAGS = ("GDPR", "CCPA", "HIPAA", "SOX", "Cross-border transfer", "Special category data", "Children's data",
        "AI", "Annual review")

RISK_CATEGORIES = ("Information Security", "Privacy", "Third Party", "Operational", "Compliance", "Business "
                   "Continuity", "Financial", "Reputational")
RISK_STATES = ("IDENTIFIED", "RECOMMENDATION_ADDED", "RECOMMENDATION_SENT", "REMEDIATION_PROPOSED",
               "EXCEPTION_REQUESTED", "REDUCED", "RETAINED")
RISK_TYPES = ("VENDORS", "ASSESSMENTS", "ASSETS", "PROCESSING_ACTIVITIES", "GENERAL")
RISK_NAMES = (
    "Excessive data retention", "Missing data processing agreement", "Unencrypted data at rest",
    "No multi-factor authentication", "Cross-border transfer without SCCs", "Inadequate access reviews",
    "Vendor sub-processor not disclosed", "Weak incident response SLA", "Outdated penetration test",
    "Lack of DPIA for high-risk processing", "Shared service accounts", "Insufficient logging and monitoring",
    "Consent not recorded", "Single point of failure in hosting", "Unpatched critical vulnerabilities",
    "Privileged access not time-bound", "No business continuity test", "Data minimisation not applied",
)
RECOMMENDATIONS = ("Execute a DPA with the vendor", "Enable encryption at rest with managed keys",
                   "Enforce MFA for all users", "Adopt Standard Contractual Clauses", "Run quarterly access reviews",
                   "Commission an independent penetration test", "Define and enforce a retention schedule")

# Controls library: (identifier, name, framework, category).
CONTROLS = (
    ("ISO-A.5.15", "Access control", "ISO/IEC 27001:2022", "Organizational"),
    ("ISO-A.5.19", "Information security in supplier relationships", "ISO/IEC 27001:2022", "Organizational"),
    ("ISO-A.5.24", "Incident management planning and preparation", "ISO/IEC 27001:2022", "Organizational"),
    ("ISO-A.5.34", "Privacy and protection of PII", "ISO/IEC 27001:2022", "Organizational"),
    ("ISO-A.8.5", "Secure authentication", "ISO/IEC 27001:2022", "Technological"),
    ("ISO-A.8.8", "Management of technical vulnerabilities", "ISO/IEC 27001:2022", "Technological"),
    ("ISO-A.8.13", "Information backup", "ISO/IEC 27001:2022", "Technological"),
    ("ISO-A.8.15", "Logging", "ISO/IEC 27001:2022", "Technological"),
    ("ISO-A.8.24", "Use of cryptography", "ISO/IEC 27001:2022", "Technological"),
    ("ISO-A.8.32", "Change management", "ISO/IEC 27001:2022", "Technological"),
    ("SOC2-CC6.1", "Logical access security", "SOC 2", "Common Criteria"),
    ("SOC2-CC6.2", "User registration and authorization", "SOC 2", "Common Criteria"),
    ("SOC2-CC7.2", "System monitoring", "SOC 2", "Common Criteria"),
    ("SOC2-CC8.1", "Change authorization and testing", "SOC 2", "Common Criteria"),
    ("SOC2-CC9.2", "Vendor risk management", "SOC 2", "Common Criteria"),
    ("NIST-AC-2", "Account management", "NIST SP 800-53 r5", "Access Control"),
    ("NIST-CM-3", "Configuration change control", "NIST SP 800-53 r5", "Configuration Management"),
    ("NIST-IR-4", "Incident handling", "NIST SP 800-53 r5", "Incident Response"),
    ("NIST-RA-5", "Vulnerability monitoring and scanning", "NIST SP 800-53 r5", "Risk Assessment"),
    ("NIST-SR-6", "Supplier assessments and reviews", "NIST SP 800-53 r5", "Supply Chain Risk Management"),
    ("GDPR-ART30", "Records of processing activities", "GDPR", "Accountability"),
    ("GDPR-ART32", "Security of processing", "GDPR", "Security"),
    ("GDPR-ART35", "Data protection impact assessment", "GDPR", "Accountability"),
)
ATTESTATION_RESULTS = ("EFFECTIVE", "PARTIALLY_EFFECTIVE", "INEFFECTIVE", "NOT_APPLICABLE")

QUESTIONS = (
    ("Data Inventory", "Which categories of personal data are processed?",
     ("Contact details", "Financial data", "Health data", "Online identifiers", "Employment records")),
    ("Data Inventory", "Whose personal data is processed?", ("Customers", "Employees", "Prospects", "Children")),
    ("Legal Basis", "What is the lawful basis for processing?",
     ("Consent", "Contract", "Legal obligation", "Legitimate interests")),
    ("Transfers", "Is personal data transferred outside the EEA?", ("Yes", "No")),
    ("Security", "Is personal data encrypted at rest and in transit?", ("Yes", "Partially", "No")),
    ("Security", "Is multi-factor authentication enforced for administrative access?", ("Yes", "No")),
    ("Third Parties", "Do sub-processors have access to the data?", ("Yes", "No", "Unknown")),
    ("Retention", "Is a retention period defined and enforced?", ("Yes", "No")),
)
