"""Live captions: caption engines behind one small interface (`CaptionEngine`), the
segmenter that cuts each speaker's audio into utterances, and the consent gate.

Outside the pure domain: engines may use asyncio and worker processes.
"""

from ..config import CaptionSettings
from ..domain.voice import VoiceFrame
from .engine import (
    ENTRY_POINT_GROUP,
    CaptionEngine,
    CaptionSink,
    NoCaptions,
    find_factory,
    load_engine,
)
from .external import ExternalCaptionEngine, audio_message
from .model import (
    FRAME_BYTES,
    FRAME_S,
    SAMPLE_RATE,
    CaptionEvent,
    CaptionOutput,
    EngineMetrics,
    EngineState,
    EngineStatus,
    SpeechSegment,
)
from .pipeline import CaptionPipeline
from .process_engine import ProcessEngine
from .segmenter import Segmenter, SegmenterConfig
from .worker import Transcriber

__all__ = [
    "ENTRY_POINT_GROUP",
    "FRAME_BYTES",
    "FRAME_S",
    "SAMPLE_RATE",
    "CaptionEngine",
    "CaptionEvent",
    "CaptionOutput",
    "CaptionPipeline",
    "CaptionSettings",
    "CaptionSink",
    "EngineMetrics",
    "EngineState",
    "EngineStatus",
    "ExternalCaptionEngine",
    "NoCaptions",
    "ProcessEngine",
    "Segmenter",
    "SegmenterConfig",
    "SpeechSegment",
    "Transcriber",
    "VoiceFrame",
    "audio_message",
    "find_factory",
    "load_engine",
]
