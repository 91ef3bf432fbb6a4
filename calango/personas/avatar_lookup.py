"""The avatars of every persona by name, for templates that show answers (bubbles are
rendered on the chat page and in the send/stream JSON alike)."""

from __future__ import annotations

from calango.services.personas import AvatarInfo, avatars_by_name, primed_avatars


class AvatarLookup:
    """A mapping loaded by one query the first time a template asks (never when it doesn't)."""

    def __init__(self) -> None:
        self._by_name: dict[str, AvatarInfo] | None = None

    def get(self, name: str | None) -> AvatarInfo | None:
        """The avatar of the persona named ``name``, if it has one."""
        if not name:
            return None
        if self._by_name is None:
            primed = primed_avatars()  # what the send or the stream read with its row
            if name in primed:
                return primed[name]
            self._by_name = avatars_by_name()
        return self._by_name.get(name)
