"""A generic partner (and Slack) webhook sender for tests and benchmarks: ``PartnerSender``."""

from sandbox.partner.sender import PartnerSender, slack_headers, standard_headers

__all__ = ["PartnerSender", "slack_headers", "standard_headers"]
