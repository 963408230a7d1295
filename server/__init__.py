"""PeerCircle control plane: HTTP and socket.io, sessions, roles, rooms."""
