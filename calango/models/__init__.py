"""Calango's models, one module per aggregate."""

from calango.models.arena import ArenaContender, ArenaRound, ArenaVote, VoteOutcome
from calango.models.attachment import FileKind, MessageFile, StoredFile
from calango.models.call import CallKind, ProviderCall
from calango.models.call_rollup import CallRollup, CallRollupState, CallSpeedRollup
from calango.models.chat import ChatMessage, ChatSession, MessageStatus, SessionKind
from calango.models.import_job import ImportJob, JobStatus
from calango.models.persona import DEFAULT_PERSONA_NAME, Persona
from calango.models.provider import Provider
from calango.models.setting import Setting
from calango.models.user import AuditEntry, User, UserSetting

__all__ = [
    "DEFAULT_PERSONA_NAME",
    "ArenaContender",
    "ArenaRound",
    "ArenaVote",
    "AuditEntry",
    "CallKind",
    "CallRollup",
    "CallRollupState",
    "CallSpeedRollup",
    "ChatMessage",
    "ChatSession",
    "FileKind",
    "ImportJob",
    "JobStatus",
    "MessageFile",
    "MessageStatus",
    "Persona",
    "Provider",
    "ProviderCall",
    "SessionKind",
    "Setting",
    "StoredFile",
    "User",
    "UserSetting",
    "VoteOutcome",
]
