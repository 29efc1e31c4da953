"""Registered, config-serialisable degradations of lazy scenes (see ``iqx list modifiers``)."""

__all__: list[str] = []
