"""Media plane: peer connections and forwarding. Knows nothing of sessions or roles."""
