"""The webhook receiver: verify, then commit to the inbox, then answer (see ``Receiver``)."""

from webhooks.receiver.app import Receiver

__all__ = ["Receiver"]
