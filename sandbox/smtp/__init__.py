"""SMTP sink for tests: a real aiosmtpd server with optional AUTH/STARTTLS and switchable 550/451 faults.

    from sandbox.smtp import SmtpSandbox
    with SmtpSandbox(username="mailer", password="secret") as sb:
        ...  # smtplib.SMTP(sb.host, sb.port)
        sb.messages()[0].message["Subject"]
"""

from sandbox.smtp.server import ReceivedMessage, SmtpSandbox

__all__ = ["ReceivedMessage", "SmtpSandbox"]
