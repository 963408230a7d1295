"""Pure, synchronous session logic: no I/O, no asyncio; time is passed in."""
