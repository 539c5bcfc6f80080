"""Herald publisher client: publish AG-UI, A2A and system events to a Herald hub and manage
users' contexts, with the Python standard library only. See ``clients/python/README.md``."""

from ._version import __version__
from .client import HeraldClient, TokenSource
from .errors import HeraldConnectionError, HeraldError
from .models import BatchItem, BatchItemResult, BatchResult, Context, ContextPage, Protocol, PublishResult
from .retry import RetryPolicy, parse_retry_after

__all__ = [
    "BatchItem",
    "BatchItemResult",
    "BatchResult",
    "Context",
    "ContextPage",
    "HeraldClient",
    "HeraldConnectionError",
    "HeraldError",
    "Protocol",
    "PublishResult",
    "RetryPolicy",
    "TokenSource",
    "__version__",
    "parse_retry_after",
]
