"""Types of the compiled forward loop (media/_fanout.c)."""

CACHE_PACKETS: int
MAX_RTP: int

class Route:
    packets: int
    octets: int
    frames: int
    failures: int
    drop_every: int
    faults: int
    @property
    def last(self) -> tuple[int, int, int, float] | None: ...
    @property
    def closed(self) -> bool: ...
    def __init__(
        self,
        fd: int,
        host: str,
        port: int,
        session: int,
        protect: int,
        owner: object,
        payload_type: int,
        ssrc: int,
        extensions: bytes,
    ) -> None: ...
    def set_offsets(self, seq_offset: int, ts_offset: int) -> None: ...
    def cached(self, seq: int) -> tuple[int, int, bytes] | None: ...
    def close(self) -> None: ...

def forward(
    routes: list[Route], payload: bytes, seq: int, ts: int, marker: int, frames: int, now: float
) -> int: ...
