"""dlt source configuration that dlt never fills in behind our back."""

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration


@configspec
class ExplicitArguments(BaseConfiguration):
    """A source spec with no fields: dlt injects nothing, every setting is passed explicitly.

    dlt otherwise tries env names for unset arguments (``USERNAME``, ``PASSWORD``, ``API_TOKEN``,
    ``CLIENT_ID`` ...), so a stray variable could change what a source connects to or as whom.
    Our runners and Dagster resources read the spec's variables (or Vault) and pass them in.
    """
