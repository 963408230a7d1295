"""The HTTP side apart from socket.io: the admin API (and its OpenAPI document),
health and readiness, Prometheus metrics, and the headers every answer carries."""
