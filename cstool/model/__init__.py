"""The pure core: resources, kinds, loading, validation, diff, order and plan.

Never imports cloud/, simulator/, cs, requests or typer.
"""
