"""ocppscope: an OCPP 2.0.1 man-in-the-middle (install it in its own virtualenv; not a library)."""
