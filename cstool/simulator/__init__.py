"""A fake CloudStack management server: state, command handlers and the wire.

A second, independent description of the API: never imports cstool.model or cstool.cloud.
"""
