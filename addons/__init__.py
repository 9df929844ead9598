"""mitmproxy addons, one concern each; each also loads into `mitmdump -s addons/<name>.py`."""
