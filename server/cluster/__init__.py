"""Several nodes on one store: the node registry (`nodes`) and session ownership through
leases with fencing tokens (`ownership`). With the in-memory store there is one node,
which owns every session."""
