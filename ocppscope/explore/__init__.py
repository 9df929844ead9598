"""`ocppscope explore`: one station's conversation in the browser, from the proxy's tables."""
