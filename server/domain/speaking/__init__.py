"""Speaking time and fairness cues: pure and synchronous, time passed in.

VAD frames per mic -> echo attribution across mics of a room -> smoothing -> the
ledger's spans per person per room -> metrics -> cues. docs/SPEAKING.md has the rules.
"""

from ..voice import VoiceFrame
from .balance import entropy, gini
from .cues import Cue, CueBoard, CueChanges, CueKey, CueKind, find_cues
from .ledger import SpeakingLedger
from .metrics import GroupMetrics, PersonMetrics, ScopedMetrics, SpeakingReport, speaking_report
from .model import Category, FrameBatch, Span, TalkGroup
from .settings import SpeakingSettings
from .views import CUE_AUDIENCE, CueAudience, OwnTalk, hand_order, may_see_cue, own_talk, render_cue

__all__ = [
    "CUE_AUDIENCE",
    "Category",
    "Cue",
    "CueAudience",
    "CueBoard",
    "CueChanges",
    "CueKey",
    "CueKind",
    "FrameBatch",
    "GroupMetrics",
    "OwnTalk",
    "PersonMetrics",
    "ScopedMetrics",
    "Span",
    "SpeakingLedger",
    "SpeakingReport",
    "SpeakingSettings",
    "TalkGroup",
    "VoiceFrame",
    "entropy",
    "find_cues",
    "gini",
    "hand_order",
    "may_see_cue",
    "own_talk",
    "render_cue",
    "speaking_report",
]
