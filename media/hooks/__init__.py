"""Every reliance on aiortc and aioice internals, by direction.

aiortc decodes whatever its receivers get and encodes whatever its senders are
given. An SFU must do neither, so we reach into a few spots, each in one module:

- `receive`: packets in from publishers (aioice's datagram callback, the DTLS
  transport's SRTP session and RTP router, a receiver's RTP/RTCP handlers and
  statistics) and the feedback we send them (NACK, PLI, REMB);
- `send`: packets out to subscribers (a sender's `send()`, RTCP handler and SR
  figures, the DTLS transport's outbound SRTP session, the nominated ICE pair's
  socket) and the feedback they send us (NACK, PLI/FIR);
- `negotiation`: what goes into SDP (a sender's `a=msid` stream id, aioice's
  host candidates);
- `codec_counters`: aiortc's VP8 encoder and decoder, counted (an SFU uses neither);
- `dtls`: the DTLS transport state and per-transport objects the first two share.

Test-only taps (a receiver's decoder queue, a sender's keyframe flag) live in
`tests/support/aiortc_taps.py`. pyproject.toml pins `aiortc>=1.16,<1.17` (aioice
comes with it, 0.13 today); `tests/media/test_aiortc_hooks.py` and
`tests/media/test_aiortc_packet_hooks.py` check each internal against the installed
versions and fail loudly when an upgrade moves one.
"""
