"""The OCPP-J engine: frames, schemas, rule groups and per-station sessions; pure (no I/O, no clock),
so the proxy, the simulator and `ocppscope check` drive the same code (docs/engine.md)."""
