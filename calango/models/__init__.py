"""Calango's models, one module per aggregate."""

from calango.models.call import CallKind, ProviderCall
from calango.models.chat import ChatMessage, ChatSession, MessageStatus
from calango.models.persona import DEFAULT_PERSONA_NAME, Persona
from calango.models.provider import PROVIDER_KINDS, Provider
from calango.models.setting import Setting

__all__ = [
    "DEFAULT_PERSONA_NAME",
    "PROVIDER_KINDS",
    "CallKind",
    "ChatMessage",
    "ChatSession",
    "MessageStatus",
    "Persona",
    "Provider",
    "ProviderCall",
    "Setting",
]
