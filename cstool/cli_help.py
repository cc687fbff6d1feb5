"""Help text without Python types: what `--help` shows for each option's value.

Typer names a value by its Python annotation (`<list[Path]>`, `<bool>`, `<int range>`) and
writes number ranges as `[1<=x<=64]`; an operator reading `cstool plan --help` needs a word
(CONFIG..., FILE, N, SECONDS, NAME). The group class below gives every parameter of every
command that word when the help is built: the metavar it declares (VALUE should one declare
none); nothing for a flag; a range in words. Typer builds
its parameters itself (typer.main.get_click_param) with no hook for another class, so the
parameters are given a subclass that only overrides how they are displayed.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperGroup, TyperOption

FALLBACK = "VALUE"  # an option that declares no metavar (every cstool option declares one)

# The example lines under each command's help (its epilog), by command path.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "validate": ("cstool validate configs/lab",),
    "plan": (
        "cstool plan configs/lab --sim",
        "cstool plan configs/lab --sim --zone lab1 -f markdown --base origin/main",
        "cstool plan configs/lab --profile prod --out plan.json",
    ),
    "apply": (
        "cstool apply plan.json --profile prod",
        "cstool apply configs/lab --sim --zone lab1 --yes -v",
    ),
    "drift": (
        "cstool drift configs/lab --sim",
        "cstool drift configs/lab --profile prod --zone lab1 -f json --color never",
    ),
    "export": (
        "cstool export --sim --zone lab1 -o lab1.yaml",
        "cstool export --profile prod --split configs/adopted",
    ),
    "import-marvin": ("cstool import-marvin advanced.cfg -o lab.yaml",),
    "graph": (
        "cstool graph configs/lab",
        "cstool graph configs/lab --live --sim -f svg -o lab.svg",
    ),
    "schema": ("cstool schema > cstool.schema.json",),
    "sim serve": ("cstool sim serve --port 8080 --state .cstool/sim.json",),
}


def examples(path: str) -> str | None:
    """The epilog of a command: its example lines, or None when it has none."""
    lines = EXAMPLES.get(path)
    return None if not lines else "Examples:\n" + "\n".join(f"  {line}" for line in lines)


class CleanArgument(TyperArgument):
    """An argument shown by its metavar alone (CONFIG...), in the usage line too."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.metavar is not None else super().display_type_rich(ctx)

    def _usage_display_name(self) -> str:
        return self.metavar if self.metavar is not None else super()._usage_display_name()


class CleanOption(TyperOption):
    """An option shown with a word for its value (none for a flag), a range in words."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        return FALLBACK

    def _get_number_range_help_str(self) -> str | None:
        low, high = getattr(self, "min", None), getattr(self, "max", None)
        if low is not None and high is not None:
            return f"{low} to {high}"
        if low is not None:
            return f"at least {low}"
        return f"at most {high}" if high is not None else None


def clean(params: list[Any]) -> list[Any]:
    """The parameters, each displayed by CleanArgument or CleanOption (same state, same
    parsing: only the display methods differ)."""
    for param in params:
        if isinstance(param, TyperArgument) and not isinstance(param, CleanArgument):
            param.__class__ = CleanArgument
        elif isinstance(param, TyperOption) and not isinstance(param, CleanOption):
            param.__class__ = CleanOption
    return params


class CleanGroup(TyperGroup):
    """A Typer group whose own parameters and whose commands' parameters show clean help
    (a sub-group is made with this class too, and cleans its own)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return clean(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None and not isinstance(command, TyperGroup):
            help_option = command.get_help_option(ctx)  # made once per command, then kept
            clean([*command.params, *([help_option] if help_option is not None else [])])
            path = " ".join([*ctx.command_path.split()[1:], cmd_name])
            command.epilog = command.epilog or examples(path)
        return command
