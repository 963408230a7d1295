// The page loads /vendor/socket.io.min.js as a classic <script>, which defines a
// global `io`. Declare it with socket.io-client's own types so checkJs sees it.
import type { io as ioType } from "socket.io-client";

declare global {
  const io: typeof ioType;
}

export {};
