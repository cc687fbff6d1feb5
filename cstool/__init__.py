"""cstool: Apache CloudStack infrastructure as code."""

# The first cstool code to run when cstool is the program: Ctrl-C from here on exits quietly
# (cstool/interrupts.py; it imports nothing but the standard library).
from cstool import interrupts as _interrupts  # noqa: F401

__version__ = "0.1.0"
