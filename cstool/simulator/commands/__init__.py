"""One handler per CloudStack API command, with CloudStack's own rules and error codes.

Handlers read and change the Store and return the reply inside `<command>response`
(for async commands: the job result). ParamError is always synchronous (HTTP error);
ApiRefusal is an HTTP error for sync and async-create commands and a failed job otherwise.
Never imports cstool.model or cstool.cloud: this is a second description of the API.
"""

from cstool.simulator.commands import (  # noqa: F401
    compute,
    config,
    dedication,
    ipv6,
    networks,
    physical,
    pods,
    ranges,
    storage,
    tenancy,
    zones,
)
from cstool.simulator.commands.core import COMMANDS, ApiRefusal, Command, P, ParamError

__all__ = ["COMMANDS", "ApiRefusal", "Command", "P", "ParamError"]
